"""Question 1, proven numerically: the gradient of z = b + w (*) x with respect to x is the
flipped kernel (*) the gradient with respect to z. Also: the committed PDF matches its source."""

import numpy as np
import pytest
import torch

import build_q1
import make_submission
from conftest import ROOT, need_tools, pdf_text

N, TAPS = 50, 9
EDGES = [0, 1, 2, 3, 46, 47, 48, 49]


def circ(w, x):
    """(w (*) x)_j = sum_i w_i x_{j-4+i} for j = 0..49, with x_j = 0 outside 0..49."""
    out = np.zeros(N)
    for j in range(N):
        for i in range(TAPS):
            if 0 <= j - 4 + i < N:
                out[j] += w[i] * x[j - 4 + i]
    return out


def layer(w, b, x):
    return b + circ(w, x)


def loss(z):
    """A nonlinear loss, so the check does not lean on linearity."""
    return np.sum(np.sin(z) + 0.5 * z**2)


def loss_grad(z):
    return np.cos(z) + z


def formula(w, dz):
    return circ(w[::-1], dz)


KERNELS = {
    "random": np.random.default_rng(0).normal(size=TAPS),
    "first tap only": np.eye(TAPS)[0],
    "last tap only": np.eye(TAPS)[8],
    "ramp": np.arange(1.0, 10.0),
    "random, large": 10 * np.random.default_rng(1).normal(size=TAPS),
}


@pytest.fixture(params=list(KERNELS), ids=list(KERNELS))
def case(request):
    rng = np.random.default_rng(list(KERNELS).index(request.param))
    return KERNELS[request.param], rng.normal(), rng.normal(size=N)


def test_conv1d_is_the_assignments_operator(case):
    w, b, x = case
    z = torch.nn.functional.conv1d(torch.tensor(x).view(1, 1, N), torch.tensor(w).view(1, 1, TAPS),
                                   torch.tensor([b], dtype=torch.float64), padding=4).view(N)
    np.testing.assert_allclose(z.numpy(), layer(w, b, x), atol=1e-12)


def test_formula_matches_autograd(case):
    w, b, x = case
    xt = torch.tensor(x, requires_grad=True)
    z = torch.nn.functional.conv1d(xt.view(1, 1, N), torch.tensor(w).view(1, 1, TAPS),
                                   torch.tensor([b], dtype=torch.float64), padding=4).view(N)
    (torch.sin(z) + 0.5 * z**2).sum().backward()
    dz = loss_grad(layer(w, b, x))
    np.testing.assert_allclose(formula(w, dz), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(formula(w, dz)[EDGES], xt.grad.numpy()[EDGES], rtol=1e-10,
                               atol=1e-10)


def test_formula_matches_central_differences(case):
    w, b, x = case
    dz = loss_grad(layer(w, b, x))
    h = 1e-6
    numeric = np.array([(loss(layer(w, b, x + h * e)) - loss(layer(w, b, x - h * e))) / (2 * h)
                        for e in np.eye(N)])
    scale = np.abs(numeric).max()
    np.testing.assert_allclose(formula(w, dz), numeric, atol=1e-6 * scale)
    np.testing.assert_allclose(formula(w, dz)[EDGES], numeric[EDGES], atol=1e-6 * scale)


def test_the_unflipped_kernel_is_wrong():
    """The check can fail: without the flip, a lopsided kernel gives another answer."""
    rng = np.random.default_rng(5)
    w, x = KERNELS["ramp"], rng.normal(size=N)
    dz = loss_grad(layer(w, 0.3, x))
    assert not np.allclose(circ(w, dz), formula(w, dz))


def test_bias_does_not_enter_the_formula():
    """The bias shifts z, and so dE/dz, but the map from dE/dz to dE/dx ignores it."""
    w = KERNELS["random"]
    dz = np.random.default_rng(2).normal(size=N)
    xt = torch.zeros(N, dtype=torch.float64, requires_grad=True)
    for b in (0.0, 5.0):
        xt.grad = None
        z = torch.nn.functional.conv1d(xt.view(1, 1, N), torch.tensor(w).view(1, 1, TAPS),
                                       torch.tensor([b], dtype=torch.float64), padding=4).view(N)
        (z * torch.tensor(dz)).sum().backward()
        np.testing.assert_allclose(xt.grad.numpy(), formula(w, dz), atol=1e-12)


def test_matrix_form_transpose_is_the_flipped_convolution():
    w = KERNELS["random"]
    W = np.array([circ(w, e) for e in np.eye(N)]).T  # column k is the response to x = e_k
    Wf = np.array([circ(w[::-1], e) for e in np.eye(N)]).T
    np.testing.assert_allclose(W.T, Wf, atol=1e-12)


def test_committed_pdf_was_built_from_the_current_source():
    need_tools("pdfinfo")
    info = make_submission.pdf_info(ROOT / "q1_solution.pdf")
    assert f"source-sha256:{build_q1.source_sha256()}" in info["Keywords"], "run `make q1`"
    assert 1 <= int(info["Pages"]) <= 2


def test_committed_pdf_states_the_answer():
    need_tools("pdftotext")
    text = pdf_text(ROOT / "q1_solution.pdf", layout=False)
    assert "w̃ ⊛ ∇z E" in text and "w8−i" in text
    for words in ("flipped kernel convolved with the", "Chain rule", "boundaries",
                  "bias drops out", "matrix form"):
        assert words in text, words


def test_q1_rebuilds(tmp_path):
    need_tools("xelatex", "pdfinfo")
    out = tmp_path / "q1.pdf"
    build_q1.build(out)
    assert build_q1.source_sha256() in make_submission.pdf_info(out)["Keywords"]
