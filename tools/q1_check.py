"""Question 1, checked numerically: the gradient of z = b + w (*) x with respect to x is the
flipped kernel (*) the gradient with respect to z.

The operator (*) is implemented exactly as the assignment defines it, and the formula is
compared with PyTorch's automatic differentiation and with central finite differences, for
five kernels and a nonlinear loss. `build_q1.py` puts the largest differences found into
q1_solution.pdf; tests/test_q1.py asserts them.
"""
import numpy as np
import torch

N, TAPS = 50, 9
STEP = 1e-6  # finite-difference step
KERNELS = {
    "random": np.random.default_rng(0).normal(size=TAPS),
    "first tap only": np.eye(TAPS)[0],
    "last tap only": np.eye(TAPS)[8],
    "ramp": np.arange(1.0, 10.0),
    "random, large": 10 * np.random.default_rng(1).normal(size=TAPS),
}


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
    """A nonlinear loss, so the check does not lean on linearity (NumPy or torch)."""
    sin = torch.sin if torch.is_tensor(z) else np.sin
    return (sin(z) + 0.5 * z**2).sum()


def loss_grad(z):
    return np.cos(z) + z


def formula(w, dz):
    """The answer to Question 1: the flipped kernel (*) dE/dz."""
    return circ(w[::-1], dz)


def case(name):
    """A kernel, a bias and an input for one of KERNELS, drawn with a fixed seed."""
    rng = np.random.default_rng(list(KERNELS).index(name))
    return KERNELS[name], rng.normal(), rng.normal(size=N)


def conv1d(w, b, x):
    """The same layer as PyTorch's conv1d with zero padding 4 (x a float64 tensor)."""
    return torch.nn.functional.conv1d(
        x.view(1, 1, N), torch.tensor(w).view(1, 1, TAPS),
        torch.tensor([b], dtype=torch.float64), padding=4).view(N)


def autograd_grad(w, b, x):
    """dE/dx by automatic differentiation through conv1d."""
    xt = torch.tensor(x, requires_grad=True)
    loss(conv1d(w, b, xt)).backward()
    return xt.grad.numpy()


def numeric_grad(w, b, x, h=STEP):
    """dE/dx by central finite differences, one input at a time."""
    return np.array([(loss(layer(w, b, x + h * e)) - loss(layer(w, b, x - h * e))) / (2 * h)
                     for e in np.eye(N)])


def largest_differences():
    """Over all kernels and all 50 inputs: the largest difference between the formula and
    autograd, and between the formula and finite differences, each relative to the largest
    entry of that gradient."""
    worst = {"autograd": 0.0, "finite differences": 0.0}
    for name in KERNELS:
        w, b, x = case(name)
        mine = formula(w, loss_grad(layer(w, b, x)))
        for key, other in [("autograd", autograd_grad(w, b, x)),
                           ("finite differences", numeric_grad(w, b, x))]:
            diff = np.abs(mine - other).max() / np.abs(other).max()
            worst[key] = max(worst[key], float(diff))
    return worst


if __name__ == "__main__":
    worst = largest_differences()
    print(f"largest difference from autograd:           {worst['autograd']:.1e}")
    print(f"largest difference from finite differences: {worst['finite differences']:.1e}")
    unflipped_wrong = all(
        not np.allclose(circ(w, loss_grad(layer(w, b, x))), autograd_grad(w, b, x),
                        rtol=1e-3, atol=1e-3) for w, b, x in map(case, KERNELS))
    print("the unflipped kernel disagrees with autograd for every kernel:", unflipped_wrong)
