"""The configuration's schema: data, model and training sections, every value validated
before anything runs. Unknown keys, wrong types and out-of-range values are reported with
the key, the value received and what is allowed (messages.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from densekit.config.messages import format_errors
from densekit.errors import DensekitError

Task = Literal["binary", "multiclass", "multilabel", "regression"]
Activation = Literal["relu", "leaky_relu", "elu", "selu", "gelu", "tanh", "sigmoid", "linear"]
Initializer = Literal[
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "uniform", "normal", "zeros", "ones", "torch_default",
]
Loss = Literal["cross_entropy", "binary_cross_entropy", "mse", "mae", "huber"]
Output = Literal["softmax", "sampled_softmax", "adaptive_softmax"]  # the last two: many classes
Sampler = Literal["log_uniform", "unigram", "uniform"]
Optimizer = Literal["sgd", "adagrad", "rmsprop", "adam", "adamw"]
Schedule = Literal["auto", "constant", "step", "cosine", "one_cycle", "plateau"]
ColumnKind = Literal["numeric", "categorical", "text", "drop"]
Missing = Literal["error", "mean", "median", "most_frequent", "zero"]
Device = Literal["auto", "cpu", "cuda"]


MAX_SEED = 2**32 - 1  # numpy.random.seed's upper bound
DEFAULT_CHECKPOINT_SECONDS = 5.0
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")


class Section(BaseModel):
    # forbid: a misspelt key must be an error, never silently ignored.
    # allow_inf_nan=False: an infinite rate or penalty is never meant, and NaN compares false
    # with every bound, so it would slip past ge/gt checks.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class TextColumn(Section):
    """A table whose feature is one column of text: a bag of the training text's top words."""
    column: Optional[str] = None           # found by itself when it is the only feature column
    words: int = Field(10_000, ge=1)       # keep this many of the most frequent words
    mode: Literal["multi-hot", "count", "tfidf"] = "multi-hot"


class DataConfig(Section):
    source: str = "digits"                 # a dataset name or a file path (--data)
    test: Optional[str] = None             # separate test file (--test-data)
    validation: Optional[str] = None       # separate validation file
    label: Optional[Union[str, int, list[str]]] = None  # label column(s): name or index; a list: multilabel
    task: Optional[Task] = None            # inferred from the labels when not given
    validation_split: float = Field(0.2, ge=0.0, lt=1.0)  # used when no validation file
    test_split: float = Field(0.2, ge=0.0, lt=1.0)        # used when the source has no test part
    pixels: Literal["scale", "standardize"] = "scale"  # images: to [0, 1], or zero mean, unit sd
    holdout: Literal["random", "last"] = "random"  # random (stratified for classes), or the last rows
    options: dict[str, Any] = Field(default_factory=dict)  # dataset-specific, e.g. moons noise
    missing: Missing = "median"            # table gaps: filled (categories: most frequent), or "error"
    columns: dict[str, ColumnKind] = Field(default_factory=dict)  # per-column kind; else decided from the values
    label_delimiter: Optional[str] = Field(None, min_length=1)  # "a|b" in one column: multilabel
    folds: Optional[int] = Field(None, ge=2)  # K-fold: validate on fold `fold` of `folds` (set by cv)
    fold: int = Field(0, ge=0)
    text: TextColumn = Field(default_factory=TextColumn)


class OutputSpec(Section):
    """One output of several (model.outputs): its task (else inferred from its column), its
    loss (else the task's default) and the weight of that loss in the sum."""
    task: Optional[Task] = None
    loss: Optional[Loss] = None
    weight: float = Field(1.0, ge=0.0)
    # A multi-label group: these 0/1 label columns answered by one head (task multilabel),
    # named by the output's key. Empty: the output is the label column of its key.
    columns: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _group_is_multilabel(self) -> "OutputSpec":
        if self.columns and len(self.columns) < 2:
            raise ValueError("columns groups two or more 0/1 label columns into one multilabel "
                             "output; for one column, name the output after it instead")
        return self

    def label_columns(self, name: str) -> list[str]:
        return list(self.columns) or [name]


class ModelConfig(Section):
    # Widths; [] is a linear model; auto: chosen from the data (nn/auto.py), one layer of 512
    # for a table, of 128 for images and bags of words.
    hidden: Union[list[int], Literal["auto"]] = "auto"
    members: int = Field(1, ge=1, le=64)  # networks packed into one, answering with their mean
    # Of a table's numeric columns (nn/embeddings.py); auto: periodic from 10,000 training rows.
    embedding: Literal["auto", "none", "periodic"] = "auto"
    activation: Union[Activation, list[Activation]] = "relu"  # global or one per hidden layer
    dropout: float = Field(0.2, ge=0.0, lt=1.0)               # after each hidden layer
    batch_norm: bool = False                                  # after each hidden Dense
    use_bias: bool = True
    kernel_initializer: Initializer = "glorot_uniform"        # Keras's default
    bias_initializer: Initializer = "zeros"
    l1: float = Field(0.0, ge=0.0)                            # penalties on kernels…
    l2: float = Field(0.0, ge=0.0)
    bias_l1: float = Field(0.0, ge=0.0)                       # …on biases…
    bias_l2: float = Field(0.0, ge=0.0)
    activity_l1: float = Field(0.0, ge=0.0)                   # …and on hidden activations
    activity_l2: float = Field(0.0, ge=0.0)
    max_norm: Optional[float] = Field(None, gt=0.0)           # cap on each unit's incoming weight norm
    loss: Optional[Loss] = None                               # default follows the task
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)       # multiclass cross-entropy only
    standardize_target: bool = True                           # regression: fit on z-scored targets
    output: Output = "softmax"                 # sampled_softmax / adaptive_softmax: very many classes
    num_sampled: int = Field(2048, ge=1)       # sampled_softmax: negative classes drawn per step
    sampler: Sampler = "log_uniform"           # Zipf over class ids, training label counts, or flat
    remove_accidental_hits: bool = True        # a sampled negative that is a true class is masked
    subtract_log_q: bool = True                # logits minus log(expected count): unbiased softmax
    adaptive_cutoffs: Optional[list[int]] = None  # adaptive_softmax cluster edges; None: by class count
    # Several outputs, one head each, by label column: {species: {}, body_mass_g: {weight: 0.5}}.
    # Empty: a label list of columns of different kinds still gives one head per column.
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, widths):
        if widths != "auto" and any(w < 1 for w in widths):
            raise ValueError("every hidden width must be a positive integer")
        return widths

    @model_validator(mode="after")
    def _activation_per_layer(self) -> "ModelConfig":
        if isinstance(self.activation, list) and self.hidden == "auto":
            raise ValueError("an activation per layer needs the layers: give model.hidden "
                             "(--hidden) with as many widths as activations")
        if isinstance(self.activation, list) and len(self.activation) != len(self.hidden):
            raise ValueError(
                f"activation lists {len(self.activation)} names but hidden has "
                f"{len(self.hidden)} layers; give one name, or one per hidden layer"
            )
        return self

    @model_validator(mode="after")
    def _members_with_plain_layers(self) -> "ModelConfig":
        # Batch norm would mix the members' statistics; the many-class heads are one network's.
        if self.members > 1 and self.batch_norm:
            raise ValueError("model.members above 1 cannot be combined with batch_norm; "
                             "set members: 1 or batch_norm: false")
        if self.members > 1 and self.output != "softmax":
            raise ValueError(f"model.members above 1 cannot be combined with output "
                             f"{self.output}; set members: 1")
        return self

    def activations(self) -> list[str]:
        if isinstance(self.activation, list):
            return list(self.activation)
        return [self.activation] * len(self.widths())

    def widths(self) -> list[int]:
        """The hidden widths, once the data has decided an automatic choice (nn/auto.py)."""
        if self.hidden == "auto":
            raise ValueError("model.hidden is still 'auto': decide it from the data first "
                             "(densekit.nn.auto.with_network)")
        return list(self.hidden)


class EarlyStopping(Section):
    # Evaluations without improvement; None: off; "auto": on when densekit chooses the epochs.
    patience: Union[Annotated[int, Field(ge=1)], Literal["auto"], None] = "auto"
    monitor: str = "val_loss"
    min_delta: float = Field(0.0, ge=0.0)
    restore_best: bool = True


class Checkpointing(Section):
    every_epochs: int = Field(1, ge=0)               # 0: no checkpoint at epoch ends
    every_steps: Optional[int] = Field(None, ge=1)   # also every N optimizer steps
    # Epoch-end checkpoints at least this many seconds apart (0: at every one): a run of tiny
    # epochs would otherwise spend most of its time writing them. Ctrl-C and the end always save.
    # None: 5 s while every_epochs is 1; a spacing in epochs the user chose is kept exactly.
    min_seconds: Optional[float] = Field(None, ge=0.0)

    def spacing_seconds(self) -> float:
        if self.min_seconds is not None:
            return self.min_seconds
        return DEFAULT_CHECKPOINT_SECONDS if self.every_epochs == 1 else 0.0


class TrainConfig(Section):
    optimizer: Optimizer = "adam"
    lr: float = Field(0.001, gt=0.0)
    momentum: float = Field(0.0, ge=0.0, lt=1.0)     # sgd (and rmsprop)
    nesterov: bool = False                           # sgd
    weight_decay: float = Field(0.0, ge=0.0)
    batch_size: Optional[int] = Field(None, ge=1)  # None: chosen from the training rows
    epochs: Optional[int] = Field(None, ge=1)      # None: chosen from the rows, with early stopping
    steps: Optional[int] = Field(None, ge=1)         # total optimizer steps; overrides epochs
    schedule: Schedule = "auto"                      # auto: plateau when densekit chooses the epochs
    step_size: int = Field(10, ge=1)                 # step schedule: epochs between decays
    gamma: float = Field(0.1, gt=0.0, le=1.0)        # step/plateau: decay factor
    plateau_patience: int = Field(3, ge=1)           # plateau: evaluations without improvement
    clip_norm: Optional[float] = Field(None, gt=0.0)  # gradient clipping by global norm
    eval_every: Optional[int] = Field(None, ge=1)    # evaluate every N steps instead of per epoch
    periods: Optional[int] = Field(None, ge=1)       # or: this many evenly spaced evaluations
    weight_snapshots: list[int] = Field(default_factory=list)  # steps at which the first layer is kept
    early_stopping: EarlyStopping = Field(default_factory=EarlyStopping)
    checkpoint: Checkpointing = Field(default_factory=Checkpointing)
    tensorboard: bool = True                         # event files in RUN/tensorboard
    fast_path: bool = True                           # hand-written backward for plain stacks
    cuda_graphs: bool = True                         # GPU: replay each step as one CUDA graph
    class_weight: Optional[Union[Literal["balanced"], dict[str, Annotated[float, Field(ge=0.0)]]]] = None
    seed: int = 0                                    # 0 to 2**32 - 1, as NumPy accepts
    device: Device = "auto"
    threads: Optional[int] = Field(None, ge=1)       # CPU threads; None: 1 (see README, Speed)
    micro_shards: Optional[int] = Field(None, ge=1)  # parts of each batch; None: the process count

    @field_validator("class_weight", mode="before")
    @classmethod
    def _balanced_or_mapping(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "balanced":
            raise ValueError("give 'balanced' or a mapping of label to weight, such as {0: 1, 1: 5}")
        return value

    @field_validator("seed")
    @classmethod
    def _seed_numpy_accepts(cls, seed: int) -> int:
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"a seed must be a whole number from 0 to {MAX_SEED} (2**32 - 1), "
                             "the range NumPy's random generator accepts")
        return seed

    @model_validator(mode="after")
    def _one_eval_rule(self) -> "TrainConfig":
        if self.eval_every is not None and self.periods is not None:
            raise ValueError("give eval_every or periods, not both")
        return self

    @model_validator(mode="after")
    def _momentum_needs_an_optimizer_that_uses_it(self) -> "TrainConfig":
        # Only a value the user chose is refused: a run's config.yaml lists every key with its
        # default, and must load again whatever the optimizer.
        problems = []
        if self.chosen("momentum") and self.optimizer not in MOMENTUM_OPTIMIZERS:
            problems.append(f"train.momentum={self.momentum} has no effect with optimizer "
                            f"'{self.optimizer}'; it applies to {' and '.join(MOMENTUM_OPTIMIZERS)} "
                            "only: remove it, or choose --optimizer sgd")
        if self.chosen("nesterov") and (self.optimizer != "sgd" or self.momentum == 0):
            problems.append(f"train.nesterov applies to optimizer sgd with a momentum above 0; "
                            f"received optimizer '{self.optimizer}' with momentum {self.momentum}: "
                            "remove --nesterov, or use --optimizer sgd --momentum 0.9")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def chosen(self, key: str) -> bool:
        """True when `key` was given a value other than its default."""
        default = type(self).model_fields[key].default
        return key in self.model_fields_set and getattr(self, key) != default


class Config(Section):
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    out: Optional[str] = None   # run directory; default runs/<data>-<time>

    @model_validator(mode="after")
    def _outputs_are_labels(self) -> "Config":
        """model.outputs alone names the label columns; beside data.label it must match it."""
        outputs = [c for name, spec in self.model.outputs.items() for c in spec.label_columns(name)]
        if not outputs:
            return self
        twice = sorted({c for c in outputs if outputs.count(c) > 1})
        if twice:
            raise ValueError(f"model.outputs names the label column(s) {', '.join(map(repr, twice))} "
                             "in more than one output; give each column to one output")
        if self.data.label is None:
            self.data.label = outputs if len(outputs) > 1 else outputs[0]
        labels = self.data.label if isinstance(self.data.label, list) else [self.data.label]
        unknown = [o for o in outputs if o not in map(str, labels)]
        if unknown:
            raise ValueError(f"model.outputs names {', '.join(map(repr, unknown))}, which data.label "
                             f"({', '.join(map(str, labels))}) does not list; name the same columns "
                             "in both, or leave data.label out")
        clashes = [g for g, spec in self.model.outputs.items() if spec.columns and g in map(str, labels)]
        if clashes:
            raise ValueError(f"the group output {clashes[0]!r} has the name of a label column; name "
                             "the group otherwise (model.outputs.NAME.columns)")
        if self.data.task is not None:
            raise ValueError("data.task sets one task for every label column; with model.outputs "
                             "give each output's task there (model.outputs.NAME.task) instead")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Config":
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            raise DensekitError(format_errors(err, cls)) from None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)
