"""Training one network definition on one data set with one seed (docs/protocol.md §3-§5)."""

from sparse_pkg.training.checkpoints import load_checkpoint, save_checkpoint
from sparse_pkg.training.run import TrainingData, train
from sparse_pkg.training.sampling import epoch_indices
from sparse_pkg.training.schedule import batch_size_for_epoch, lr_for_epoch
from sparse_pkg.training.selection import PROTOCOLS, select_epoch

__all__ = [
    "PROTOCOLS",
    "TrainingData",
    "batch_size_for_epoch",
    "epoch_indices",
    "load_checkpoint",
    "lr_for_epoch",
    "save_checkpoint",
    "select_epoch",
    "train",
]
