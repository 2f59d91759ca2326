"""``Module.load_state_dict``: copy values in, reporting missing and unexpected keys as PyTorch does."""

from __future__ import annotations

from collections import namedtuple

from gradlite.autograd.grad_mode import no_grad
from gradlite.tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def load_state_dict(module, state_dict, strict: bool = True, assign: bool = False):
    """Check every key and shape first, then copy (or, with ``assign``, swap in) all values at once.

    Nothing is written when an error is raised, so a failed load leaves the module as it was.
    """
    if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    errors = []
    for k, target in own.items():
        if k not in state_dict:
            continue
        value = state_dict[k]
        if not isinstance(value, Tensor):
            errors.append(
                f'While copying the parameter named "{k}", expected torch.Tensor or Tensor-like object '
                f"from checkpoint but received {type(value)}"
            )
            continue
        if value.shape != target.shape:
            errors.append(
                f"size mismatch for {k}: copying a param with shape {value.shape} from checkpoint, "
                f"the shape in "
                f"current model is {target.shape}."
            )
    if strict:
        if unexpected:
            errors.insert(
                0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". "
            )
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(module).__name__}:\n\t" + "\n\t".join(errors)
        )
    with no_grad():
        for k, target in own.items():
            if k not in state_dict:
                continue
            if assign:
                _assign(module, k, state_dict[k])
            else:
                target.copy_(state_dict[k])
    return IncompatibleKeys(missing, unexpected)


def _assign(module, key: str, value: Tensor) -> None:
    """Make ``value`` itself the parameter (wrapped, keeping requires_grad) or buffer at ``key``."""
    from gradlite.nn.parameter import Parameter

    path, _, name = key.rpartition(".")
    owner = module.get_submodule(path)
    if name in owner._parameters:
        old = owner._parameters[name]
        owner._parameters[name] = Parameter(value.detach(), requires_grad=old.requires_grad)
    else:
        owner._buffers[name] = value.detach()
