"""Grad modes (no_grad, enable_grad, set_grad_enabled, inference_mode) and anomaly detection."""

from __future__ import annotations

import re
import warnings

import pytest

import gradlite
from gradlite.autograd import anomaly_mode
from tests.autograd._helpers import both, errors_alike


def _x(lib, dev):
    return lib.tensor([1.0, 2.0, 3.0], device=dev, requires_grad=True)


def test_grad_mode_flags(torch, device):
    def program(lib, dev):
        x = _x(lib, dev)
        out = [lib.is_grad_enabled()]
        with lib.no_grad():
            out += [lib.is_grad_enabled(), (x * 2).requires_grad]
            with lib.enable_grad():
                out += [(x * 2).requires_grad]
        with lib.set_grad_enabled(False):
            out += [(x * 2).requires_grad]
        out += [lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
        return out

    both(torch, program, device)


def test_inference_mode_tensors(torch, device):
    def program(lib, dev):
        x = _x(lib, dev)
        with lib.inference_mode():
            it = lib.ones(3, device=dev)
            y = x * 2
            v = it[0:2]
            flags = [
                lib.is_inference_mode_enabled(),
                lib.is_grad_enabled(),
                y.requires_grad,
                y.grad_fn is None,
                it.is_inference(),
                y.is_inference(),
                v.is_inference(),
            ]
            it.add_(1)  # allowed inside
        flags += [
            lib.is_inference_mode_enabled(),
            lib.is_grad_enabled(),
            (it * 2).is_inference(),
            it.clone().is_inference(),
        ]
        (it + x).sum().backward()  # add saves nothing: allowed, as in PyTorch
        return flags, it, x.grad

    both(torch, program, device)


def _SaveBoth(lib):
    class SaveBoth(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a

    return SaveBoth


def _inference_tensor(lib, dev):
    with lib.inference_mode():
        return lib.ones(3, device=dev)


@pytest.mark.parametrize(
    "case, match",
    [
        ("saved", "Inference tensors cannot be saved for backward"),
        ("inplace", "Inplace update to inference tensor outside InferenceMode is not allowed"),
        ("inplace_view", "Inplace update to inference tensor outside InferenceMode is not allowed"),
        (
            "requires_grad",
            "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed",
        ),
        ("custom_function_saves", "Inference tensors cannot be saved for backward"),
    ],
)
def test_inference_tensors_cannot_enter_autograd(torch, device, case, match):
    programs = {
        "saved": lambda lib, d: _inference_tensor(lib, d) * _x(lib, d),
        "inplace": lambda lib, d: _inference_tensor(lib, d).add_(1),
        "inplace_view": lambda lib, d: _inference_tensor(lib, d)[1:].mul_(2),
        "requires_grad": lambda lib, d: _inference_tensor(lib, d).requires_grad_(),
        "custom_function_saves": lambda lib, d: _SaveBoth(lib).apply(_inference_tensor(lib, d), _x(lib, d)),
    }
    errors_alike(torch, programs[case], device, match)


def test_inference_mode_decorator_and_nesting(torch, device):
    def program(lib, dev):
        @lib.inference_mode()
        def f(a):
            return a * 2, lib.is_inference_mode_enabled()

        x = _x(lib, dev)
        y, flag = f(x)
        with lib.inference_mode():
            with lib.inference_mode(False):
                inner = [lib.is_inference_mode_enabled(), lib.is_grad_enabled(), lib.ones(2).is_inference()]
        with lib.no_grad():
            with lib.inference_mode():
                pass
            restored = lib.is_grad_enabled()
        return y.requires_grad, y.is_inference(), flag, inner, restored

    both(torch, program, device)


def test_inference_mode_bare_decorator(device):
    @gradlite.inference_mode
    def g(a):
        return a * 2

    y = g(_x(gradlite, device))
    assert not y.requires_grad and y.is_inference() and not gradlite.is_inference_mode_enabled()


# -- anomaly mode -----------------------------------------------------------------------------------------
def _nan_program(lib, dev):
    a = lib.tensor([0.0, 1.0], device=dev, requires_grad=True)
    y = a.sqrt()  # the forward line the anomaly report must show
    (y * 0).sum().backward()
    return a.grad


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_without_anomaly_mode_passes_silently(torch, device):
    both(torch, _nan_program, device)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("how", ["context", "set"])
def test_anomaly_mode_reports_nan_with_forward_line(torch, device, how):
    def program(lib, dev):
        if how == "context":
            with lib.autograd.detect_anomaly():
                _nan_program(lib, dev)
        else:
            lib.autograd.set_detect_anomaly(True)
            try:
                _nan_program(lib, dev)
            finally:
                lib.autograd.set_detect_anomaly(False)

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        err = errors_alike(
            torch, program, device, "Function 'SqrtBackward0' returned nan values in its 0th output."
        )
    assert "y = a.sqrt()  # the forward line" in str(err)
    assert re.search(r"test_modes\.py\", line \d+, in _nan_program", str(err))
    assert not gradlite.autograd.anomaly_enabled()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_check_nan_false(torch, device):
    def program(lib, dev):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly(check_nan=False):
                return _nan_program(lib, dev)

    both(torch, program, device)


def test_anomaly_mode_warns_with_forward_trace_of_failing_node(device):
    x = _x(gradlite, device)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with gradlite.autograd.detect_anomaly():
            y = x.exp()
            z = y * y  # MulBackward0 saves y
            y.add_(1)
            with pytest.warns(UserWarning, match=r"Error detected in MulBackward0(.|\n)*z = y \* y"):
                with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                    z.sum().backward()


def test_anomaly_off_costs_nothing(device, monkeypatch):
    # no traceback capture in the forward, no NaN check (a host sync) in the backward
    def forbidden(*args):
        raise AssertionError("anomaly machinery ran while anomaly mode was off")

    monkeypatch.setattr(anomaly_mode, "record_trace", forbidden)
    monkeypatch.setattr(anomaly_mode, "check_anomaly", forbidden)
    x = _x(gradlite, device)
    y = (x.exp() * x).sum()
    assert y.grad_fn.metadata == {}  # (PyTorch's: an empty dict the user may fill)
    y.backward()
    assert x.grad is not None


def test_anomaly_decorator_restores_state(device):
    @gradlite.autograd.detect_anomaly()
    def f():
        return gradlite.autograd.anomaly_enabled()

    with pytest.warns(UserWarning):
        assert f() is True
    assert gradlite.autograd.anomaly_enabled() is False
