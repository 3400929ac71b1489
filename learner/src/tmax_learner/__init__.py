"""tmax's learner: DPPO/PPO-clip/SFT on packed token-in/token-out rollouts, driven by the tmax CLI."""

__version__ = "0.1.0"
