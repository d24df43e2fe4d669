"""Gaussian diffusion for masks: linear beta schedule, learned-range variance, hybrid loss, and the
reference samplers (respaced DDPM and DDIM with eta) that the TypeScript engine is tested against.

Follows improved-diffusion (Nichol & Dhariwal 2021) closely; float64 schedule arithmetic, like the original.
"""
import math

import numpy as np
import torch


def linear_betas(T: int = 1000) -> np.ndarray:
    scale = 1000 / T
    return np.linspace(scale * 1e-4, scale * 0.02, T, dtype=np.float64)


def respaced_timesteps(T: int, steps: int) -> list:
    """improved-diffusion's space_timesteps(T, [steps]): evenly strided, always includes 0 and T-1."""
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in 1..{T}, got {steps}")
    if steps == 1:
        return [0]
    stride = (T - 1) / (steps - 1)
    return sorted({round(i * stride) for i in range(steps)})


class Schedule:
    """Diffusion constants for a (possibly respaced) chain of timesteps."""

    def __init__(self, betas: np.ndarray, timesteps=None):
        self.timesteps = np.arange(len(betas)) if timesteps is None else np.asarray(timesteps)
        self.betas = betas
        alphas_cumprod = np.cumprod(1.0 - betas)
        self.alphas_cumprod = alphas_cumprod
        self.alphas_cumprod_prev = np.append(1.0, alphas_cumprod[:-1])
        self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        self.posterior_log_variance_clipped = np.log(np.append(self.posterior_variance[1], self.posterior_variance[1:]))
        self.posterior_mean_coef1 = betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * np.sqrt(1.0 - betas) / (1.0 - alphas_cumprod)

    @classmethod
    def respaced(cls, T: int, steps: int) -> "Schedule":
        base = np.cumprod(1.0 - linear_betas(T))
        use = respaced_timesteps(T, steps)
        betas, last = [], 1.0
        for t in use:
            betas.append(1.0 - base[t] / last)
            last = base[t]
        return cls(np.array(betas), use)

    def __len__(self):
        return len(self.betas)


def _at(arr: np.ndarray, i: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    out = torch.from_numpy(arr).to(like.device)[i].float()
    return out.reshape(-1, *([1] * (like.dim() - 1)))


def q_sample(s: Schedule, x0, i, noise):
    return _at(np.sqrt(s.alphas_cumprod), i, x0) * x0 + _at(np.sqrt(1 - s.alphas_cumprod), i, x0) * noise


def predict_x0(s: Schedule, x_t, i, eps):
    return _at(np.sqrt(1 / s.alphas_cumprod), i, x_t) * x_t - _at(np.sqrt(1 / s.alphas_cumprod - 1), i, x_t) * eps


def posterior(s: Schedule, x0, x_t, i):
    mean = _at(s.posterior_mean_coef1, i, x_t) * x0 + _at(s.posterior_mean_coef2, i, x_t) * x_t
    return mean, _at(s.posterior_log_variance_clipped, i, x_t)


def learned_log_variance(s: Schedule, v, i):
    """Interpolate between log(beta) and the clipped posterior log variance, v in [-1, 1]."""
    frac = (v + 1) / 2
    return frac * _at(np.log(s.betas), i, v) + (1 - frac) * _at(s.posterior_log_variance_clipped, i, v)


def p_mean_variance(s: Schedule, model_out, x_t, i, clip=True):
    eps, v = model_out[:, :1], model_out[:, 1:2]
    x0 = predict_x0(s, x_t, i, eps)
    if clip:
        x0 = x0.clamp(-1, 1)
    mean, _ = posterior(s, x0, x_t, i)
    return mean, learned_log_variance(s, v, i), x0


# ---- training loss -------------------------------------------------------------------------------------------

def _normal_kl(mean1, logvar1, mean2, logvar2):
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _approx_std_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _discretized_gaussian_nll(x, mean, log_scale):
    centered = x - mean
    inv_std = torch.exp(-log_scale)
    cdf_plus = _approx_std_normal_cdf(inv_std * (centered + 1.0 / 255.0))
    cdf_min = _approx_std_normal_cdf(inv_std * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    cdf_delta = cdf_plus - cdf_min
    log_probs = torch.where(x < -0.999, log_cdf_plus,
                            torch.where(x > 0.999, log_one_minus_cdf_min, torch.log(cdf_delta.clamp(min=1e-12))))
    return -log_probs


def hybrid_loss(s: Schedule, model, cond, x0):
    """L_simple (MSE on eps) + L_vb for the variance (mean detached), improved-diffusion's RESCALED_MSE."""
    b = x0.shape[0]
    i = torch.randint(0, len(s), (b,)).to(x0.device)
    noise = torch.randn_like(x0)
    x_t = q_sample(s, x0, i, noise)
    out = model(torch.cat([cond, x_t], dim=1), torch.from_numpy(s.timesteps).float().to(x0.device)[i])
    eps, v = out[:, :1], out[:, 1:2]
    mse = ((eps - noise) ** 2).mean(dim=(1, 2, 3))

    frozen = torch.cat([eps.detach(), v], dim=1)
    mean_p, logvar_p, _ = p_mean_variance(s, frozen, x_t, i, clip=False)
    mean_q, logvar_q = posterior(s, x0, x_t, i)
    kl = _normal_kl(mean_q, logvar_q, mean_p, logvar_p).mean(dim=(1, 2, 3)) / math.log(2.0)
    nll = _discretized_gaussian_nll(x0, mean_p, 0.5 * logvar_p).mean(dim=(1, 2, 3)) / math.log(2.0)
    vb = torch.where(i == 0, nll, kl) * (len(s) / 1000.0)
    return (mse + vb).mean(), mse.mean().item(), vb.mean().item()


# ---- reference samplers --------------------------------------------------------------------------------------

class DDPMSampler:
    """Respaced ancestral sampling with the learned variance (the paper's sampler)."""

    def __init__(self, T: int, steps: int):
        self.schedule = Schedule.respaced(T, steps)

    @property
    def timesteps(self):
        return list(self.schedule.timesteps)

    def step(self, model_out, k: int, x_t, noise):
        """k: index into the respaced chain (len-1 down to 0). Returns x_{k-1}."""
        i = torch.full((x_t.shape[0],), k, dtype=torch.long)
        mean, logvar, _ = p_mean_variance(self.schedule, model_out, x_t, i)
        return mean + (k > 0) * torch.exp(0.5 * logvar) * noise


class DDIMSampler:
    def __init__(self, T: int, steps: int, eta: float = 0.0):
        self.schedule = Schedule.respaced(T, steps)
        self.eta = eta

    @property
    def timesteps(self):
        return list(self.schedule.timesteps)

    def step(self, model_out, k: int, x_t, noise):
        s = self.schedule
        i = torch.full((x_t.shape[0],), k, dtype=torch.long)
        x0 = predict_x0(s, x_t, i, model_out[:, :1]).clamp(-1, 1)
        eps = (_at(np.sqrt(1 / s.alphas_cumprod), i, x_t) * x_t - x0) / _at(np.sqrt(1 / s.alphas_cumprod - 1), i, x_t)
        a, a_prev = s.alphas_cumprod[k], s.alphas_cumprod_prev[k]
        sigma = self.eta * math.sqrt((1 - a_prev) / (1 - a)) * math.sqrt(1 - a / a_prev)
        mean = x0 * math.sqrt(a_prev) + math.sqrt(1 - a_prev - sigma ** 2) * eps
        return mean + (k > 0) * sigma * noise


def make_sampler(kind: str, T: int, steps: int, eta: float = 0.0):
    if kind == "ddpm":
        return DDPMSampler(T, steps)
    if kind == "ddim":
        return DDIMSampler(T, steps, eta)
    raise ValueError(f"unknown sampler {kind!r}")


@torch.no_grad()
def sample(model, sampler, cond, generator=None, noises=None, trace=None):
    """Sample masks x0 in [-1, 1] for conditions cond [B, C, H, W]. noises: optional fixed noise list
    (the first is x_T, then one per step) so that other implementations can be compared step by step."""
    shape = (cond.shape[0], 1, *cond.shape[2:])
    # Noise is drawn on the CPU (the generator's device) and moved: the same samples on any device.
    draw = (lambda n: noises[n]) if noises is not None else (lambda n: torch.randn(shape, generator=generator))
    x = draw(0).to(cond.device)
    for n, k in enumerate(reversed(range(len(sampler.schedule)))):
        t = torch.full((shape[0],), float(sampler.schedule.timesteps[k]), device=cond.device)
        out = model(torch.cat([cond, x], dim=1), t)
        x = sampler.step(out, k, x, draw(n + 1).to(cond.device))
        if trace is not None:
            trace.append(x.clone())
    return x
