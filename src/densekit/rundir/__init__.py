"""The run directory: the contract between training and everything that reads a trained run."""
