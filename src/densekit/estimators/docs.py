"""The estimators' docstrings: the parameters both take, written once."""

INTRO = """{summary}

Trains with densekit's own loop, defaults and fast paths (the same settings and seed give
the same weights as `densekit train`), writes no files, prints nothing unless `verbose`, and
leaves the program's signal handlers alone. Takes NumPy arrays, lists, SciPy sparse matrices
(used as they are, not standardised, like a bag of words) and pandas DataFrames: numeric
columns are standardised with the training rows' mean and standard deviation; a frame with
text, categorical or boolean columns is one-hot encoded as the command line encodes a mixed
table, and the encoder is saved with the model.

With no arguments it trains the network `densekit train` trains on the same rows: the
training budget chosen from the rows (batch size, epochs, early stopping on the validation
rows with the best weights kept, the learning rate cut when the validation loss stalls),
gaps filled with the training median, columns read by their values.

Rows: fit holds out `validation_split` of the rows (0.2, stratified for classes, seeded) to
score after every epoch and stop early on, as `densekit train` does, unless fit is given
`validation_data=(X_val, y_val)`; validation_split=0 trains on every row (and, with the
epochs left open, for the whole budget at a constant rate). There is no test split: hold out
test rows yourself (train_test_split, cross_val_score).
"""

COMMON = """
Parameters
----------
hidden : tuple of int or "auto", default="auto"
    Widths of the hidden layers; () is a linear model. auto: one layer of 512 units for a
    table (numeric columns or a DataFrame), of 128 for a bag of words (sparse X).
activation : str or tuple of str, default="relu"
    relu, leaky_relu, elu, selu, gelu, tanh, sigmoid or linear; one, or one per layer.
dropout : float, default=0.2
    Dropout after each hidden layer.
batch_norm : bool, default=False
    Batch normalisation after each hidden Dense layer.
l2 : float, default=0.0
    L2 penalty on the kernels, added to the loss as Keras adds it.
optimizer : str, default="adam"
    sgd, adagrad, rmsprop, adam or adamw.
lr : float, default=0.001
    Learning rate.
momentum : float, default=0.0
    sgd and rmsprop only.
weight_decay : float, default=0.0
    Decoupled for adamw, an L2 term for the others.
batch_size : int or None, default=None
    Rows per step; larger than the training rows, it is all of them (as MLPClassifier does).
    None: chosen from the training rows (16 for under 1,000 rows up to 256 from 100,000).
epochs : int or None, default=None
    Passes over the training rows. None: enough for about 10,000 steps (20 to 200), with
    early stopping when there are validation rows.
schedule : str, default="auto"
    Learning-rate schedule: constant, step, cosine, one_cycle or plateau; auto: plateau
    when densekit chooses the epochs and stops early, else constant.
clip_norm : float or None, default=None
    Clip gradients to this global norm.
validation_split : float, default=0.2
    Fraction of the rows held out for validation (stratified, seeded); 0 trains on all.
patience : int, "auto" or None, default="auto"
    Early stopping: evaluations without improvement of `monitor` before training stops
    (the best weights are restored). Needs validation rows. auto: a tenth of the chosen
    epochs (5 to 20) when densekit chooses the epochs, else off; None: off.
monitor : str, default="val_loss"
    What early stopping watches (val_loss, val_accuracy, val_mae, train_loss, ...).
missing : str, default="median"
    Gaps (NaN) in X: fill them with the training column's median, mean, most_frequent
    value or zero (the fill is saved with the model), or error to refuse them.
{extra}device : str, default="auto"
    cpu, cuda, or auto (a GPU when PyTorch sees one). The fitted model is kept on the CPU.
random_state : int, RandomState or None, default=None
    The seed of the initial weights, dropout and sample order. An int is the seed itself
    (`densekit train --seed`); None draws one from NumPy's global generator.
warm_start : bool, default=False
    When True, fit continues training the fitted network (its weights, input scaling and
    classes) for `epochs` more epochs instead of starting again. The optimizer's state
    (Adam's moments) starts afresh with each call.
verbose : bool, default=False
    Print the data and layer summary and one line per epoch.
settings : dict or None, default=None
    Any other configuration key, dotted or with '__':
    {{"train.schedule": "cosine", "model__kernel_initializer": "he_normal"}}.
    Keys the estimator decides (data, task, seed, files) are refused with the reason.

Attributes
----------
model_ : torch.nn.Module
    The trained network (on the CPU), returning raw scores.
card_ : densekit.rundir.card.ModelCard
    What prediction needs (as model.json holds it).
config_ : dict
    The resolved configuration of the last training.
history_ : list of dict
    One record per evaluation: step, epoch, train_loss, val_... figures, lr, seconds;
    pandas.DataFrame(history_) makes a table of it. Continued training appends.
metrics_ : dict
    Final validation figures ({{"validation": {{...}}}} when there were validation rows).
n_iter_ : int
    Epochs trained, in all.
n_outputs_ : int
    Outputs of the network.
n_features_in_ : int
feature_names_in_ : ndarray of str
    When X was a DataFrame with string column names.
"""

CLASSIFIER_EXTRA = """class_weight : "balanced", dict or None, default=None
    Per-class loss weights (binary and multiclass).
label_smoothing : float, default=0.0
    Multiclass cross-entropy label smoothing.
"""

REGRESSOR_EXTRA = """loss : str or None, default=None
    mse (default), mae or huber.
standardize_target : bool, default=True
    Fit z-scored targets (predictions are in the targets' units).
"""


def docstring(summary: str, extra: str, attributes: str = "") -> str:
    return INTRO.format(summary=summary) + COMMON.format(extra=extra) + attributes
