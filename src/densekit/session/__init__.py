"""The run layer: one training session from a configuration to a run directory (train.py,
finish.py), the data it prepares (pipeline.py), what continues or repeats a session (finished.py,
processes.py, cv.py), and what reads a trained run back to predict or evaluate (predict.py,
heldout.py). Nothing is imported here, so importing one module does not import the others."""
