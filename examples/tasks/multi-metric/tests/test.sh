#!/bin/bash
# Writes several metrics to reward.json: the overall reward plus the fraction of correct lines and a style check.
expected() { for ((i = 1; i <= $1; i++)); do
  if ((i % 15 == 0)); then echo FizzBuzz; elif ((i % 3 == 0)); then echo Fizz; elif ((i % 5 == 0)); then echo Buzz; else echo "$i"; fi
done; }
n=100
got="$(timeout 10 /app/fizzbuzz.sh $n 2>/dev/null)"
correct=$(paste -d'|' <(expected $n) <(printf '%s\n' "$got" | head -n $n) | awk -F'|' '$1==$2{c++} END{print c+0}')
fraction=$(awk -v c="$correct" -v n="$n" 'BEGIN{printf "%.2f", c/n}')
shebang=0; [ "$(head -n1 /app/fizzbuzz.sh 2>/dev/null)" = "#!/bin/bash" ] && shebang=1
reward=0; [ "$correct" -eq "$n" ] && [ "$shebang" -eq 1 ] && reward=1
echo "correct lines: $correct/$n, shebang: $shebang"
printf '{"reward": %s, "correct_fraction": %s, "has_shebang": %s}\n' "$reward" "$fraction" "$shebang" > /logs/verifier/reward.json
