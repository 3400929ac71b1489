import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  FALLBACK_MIRROR,
  chooseDebianMirror,
  defaultMirror,
  parseDeb822Sources,
  parseOneLineSources,
  readAptSources,
} from "../../src/images/apt-sources.js";
import { tempDir } from "../helpers/task-fixture.js";

const SOURCES_LIST = `# main archive, behind the company's mirror
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.corp.example/debian/ bookworm main contrib # trailing comment
deb-src http://mirror.corp.example/debian bookworm main
deb http://mirror.corp.example/debian-security bookworm-security main
#deb http://commented.example/debian bookworm main
deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_]/ bookworm main
`;

const DEB822 = `Types: deb deb-src
# a comment inside a stanza
URIs: http://deb.example.org/debian https://second.example.org/debian
Suites: bookworm bookworm-updates
Components: main non-free-firmware
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD3K87ZM18gzyQZJD+w
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://deb.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main
Enabled: no
`;

describe("apt sources: parsing", () => {
  test("one-line format: options, comments, deb-src and cdrom entries are read as written", () => {
    const entries = parseOneLineSources(SOURCES_LIST, "sources.list");
    assert.deepEqual(
      entries.map((e) => [e.types[0], e.uri, e.suites.join(","), e.components.join(",")]),
      [
        ["deb", "http://mirror.corp.example/debian/", "bookworm", "main,contrib"],
        ["deb-src", "http://mirror.corp.example/debian", "bookworm", "main"],
        ["deb", "http://mirror.corp.example/debian-security", "bookworm-security", "main"],
        ["deb", "cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_]/", "bookworm", "main"],
      ],
    );
  });

  test("deb822 format: one entry per URI, multi-line fields, comments, Enabled: no", () => {
    const entries = parseDeb822Sources(DEB822, "debian.sources");
    assert.deepEqual(
      entries.map((e) => [e.types.join(","), e.uri, e.suites.join(","), e.components.join(","), e.enabled]),
      [
        ["deb,deb-src", "http://deb.example.org/debian", "bookworm,bookworm-updates", "main,non-free-firmware", true],
        ["deb,deb-src", "https://second.example.org/debian", "bookworm,bookworm-updates", "main,non-free-firmware", true],
        ["deb", "http://deb.example.org/debian-security", "bookworm-security", "main", true],
        ["deb", "http://disabled.example.org/debian", "bookworm", "main", false],
      ],
    );
  });
});

describe("apt sources: the Debian mirror for debootstrap", () => {
  const choose = (text: string, format: "list" | "sources", suite = "bookworm"): string | null =>
    chooseDebianMirror(format === "list" ? parseOneLineSources(text, "f") : parseDeb822Sources(text, "f"), suite)?.uri ?? null;

  test("the first enabled deb entry of the main archive, trailing slash dropped", () => {
    assert.equal(choose(SOURCES_LIST, "list"), "http://mirror.corp.example/debian");
    assert.equal(choose(DEB822, "sources"), "http://deb.example.org/debian");
  });

  test("security archives, deb-src, disabled, cdrom: and apt-only methods are skipped", () => {
    const text = [
      "deb-src http://src.example/debian bookworm main",
      "deb http://security.debian.org/debian-security bookworm-security main",
      "deb http://security.debian.org/ bookworm/updates main",
      "deb cdrom:[Debian]/ bookworm main",
      "deb mirror+file:/etc/apt/mirrors.txt bookworm main",
      "deb tor+http://onion.example/debian bookworm main",
      "deb file:/srv/debian-mirror bookworm main",
    ].join("\n");
    assert.equal(choose(text, "list"), "file:/srv/debian-mirror");
    assert.equal(choose(DEB822.split("\n\n").slice(1).join("\n\n"), "sources"), null);
  });

  test("an entry naming the requested suite wins over one of its family, which wins over another release", () => {
    const text = [
      "deb http://other-release.example/debian trixie main",
      "deb http://updates-only.example/debian bookworm-updates main",
      "deb http://exact.example/debian bookworm main",
    ].join("\n");
    assert.equal(choose(text, "list", "bookworm"), "http://exact.example/debian");
    assert.equal(choose(text.split("\n").slice(0, 2).join("\n"), "list", "bookworm"), "http://updates-only.example/debian");
    assert.equal(choose(text.split("\n")[0]!, "list", "bookworm"), "http://other-release.example/debian", "a Debian mirror carries every release");
    assert.equal(choose("deb http://stable-alias.example/debian stable main", "list", "bullseye"), "http://stable-alias.example/debian");
  });

  test("other distributions and third-party repositories never qualify", () => {
    const text = [
      "deb http://archive.ubuntu.com/ubuntu jammy main restricted",
      "deb http://apt.postgresql.org/pub/repos/apt bookworm-pgdg main",
      "deb https://download.docker.com/linux/debian bookworm stable",
      "deb https://deb.nodesource.com/node_20.x nodistro main",
      "deb http://flat.example/repo ./",
    ].join("\n");
    assert.equal(choose(text, "list", "bookworm"), null);
    assert.equal(choose(text, "list", "jammy"), "http://archive.ubuntu.com/ubuntu", "a suite the entry names is taken as it is");
  });

  test("reads sources.list, then sources.list.d/*.list and *.sources by name; falls back to deb.debian.org", () => {
    const apt = tempDir("tmax-apt-");
    mkdirSync(join(apt, "sources.list.d"));
    assert.deepEqual(defaultMirror("bookworm", apt), { mirror: FALLBACK_MIRROR, from: null });
    writeFileSync(join(apt, "sources.list.d", "b-debian.sources"), DEB822);
    writeFileSync(join(apt, "sources.list.d", "a-third-party.list"), "deb https://download.docker.com/linux/debian bookworm stable\n");
    writeFileSync(join(apt, "sources.list.d", "0-ignored.list.disabled"), "deb http://ignored.example/debian bookworm main\n");
    assert.deepEqual(readAptSources(apt).map((e) => e.file.split("/").pop()), [
      "a-third-party.list",
      "b-debian.sources",
      "b-debian.sources",
      "b-debian.sources",
      "b-debian.sources",
    ]);
    assert.deepEqual(defaultMirror("bookworm", apt), { mirror: "http://deb.example.org/debian", from: join(apt, "sources.list.d", "b-debian.sources") });
    writeFileSync(join(apt, "sources.list"), "deb http://first.example/debian bookworm main\n");
    assert.equal(defaultMirror("bookworm", apt).mirror, "http://first.example/debian");
  });
});
