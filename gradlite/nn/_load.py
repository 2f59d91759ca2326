"""``Module.load_state_dict``: copy values in, reporting missing and unexpected keys as PyTorch does."""

from __future__ import annotations

from collections import namedtuple

from gradlite.autograd.grad_mode import no_grad
from gradlite.tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def load_state_dict(module, state_dict, strict: bool = True, assign: bool = False):
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    errors = []
    for k, target in own.items():
        if k not in state_dict:
            continue
        value = state_dict[k]
        if not isinstance(value, Tensor):
            errors.append(f'While copying the parameter named "{k}", expected torch.Tensor or Tensor-like object '
                          f"from checkpoint but received {type(value)}")
            continue
        if value.shape != target.shape:
            errors.append(
                f"size mismatch for {k}: copying a param with shape {value.shape} from checkpoint, the shape in "
                f"current model is {target.shape}."
            )
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(module).__name__}:\n\t" + "\n\t".join(errors)
        )
    with no_grad():
        for k, target in own.items():
            if k in state_dict:
                target.copy_(state_dict[k])
    return IncompatibleKeys(missing, unexpected)
