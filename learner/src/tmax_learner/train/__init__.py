"""One training step on packed rows, data-parallel reduction, checkpoints and resume state."""
