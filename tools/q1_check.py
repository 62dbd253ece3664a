import torch

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)


def conv(w, v):
    """(w ⊛ v)_j = sum_i w_i v_(j-4+i) for j = 0..49, v zero outside 0..49."""
    v = torch.cat([torch.zeros(4), v, torch.zeros(4)])  # v[j + i] is v_(j-4+i)
    return torch.stack([sum(w[i] * v[j + i] for i in range(9)) for j in range(50)])


w, b = torch.randn(9), torch.randn(())
x = torch.randn(50, requires_grad=True)
z = b + conv(w, x)
E = (torch.sin(z) + z**2 / 2).sum()  # a loss that is not linear in z
E.backward()  # automatic differentiation puts the true gradient in x.grad
dE_dz = (torch.cos(z) + z).detach()
for name, kernel in [('flipped', w.flip(0)), ('unflipped', w)]:
    error = (conv(kernel, dE_dz) - x.grad).abs().max()
    print(f'{name} kernel: largest difference from autograd {error:.1e}')
