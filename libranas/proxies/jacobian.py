"""Input-Jacobian proxies of NAS-Bench-Suite-Zero: ``jacov`` and ``epe_nas``.

Both read the shared input Jacobian of :class:`~libranas.proxies._engine.NetworkPass`:
for every sample ``n``, ``J_n = d (sum_k logits_k(x_n)) / d x_n`` flattened to a vector
(one forward and one backward for the whole batch). If the shared pass has not been
computed yet it is computed here with the model's buffers (BatchNorm running statistics)
restored afterwards. Correlations are computed in float64 with numpy.

- ``jacov`` (Mellor et al., "Neural architecture search without training", v1, 2020):
  ``Sigma = corr(J_1, ..., J_N)`` (N x N Pearson correlation of the per-sample Jacobians),
  ``v`` its eigenvalues, ``jacov = -sum_i ( log(v_i + k) + 1 / (v_i + k) )`` with
  ``k = 1e-5``. Uncorrelated Jacobians (``v_i = 1``) give the maximum ``-N``; bigger is
  predicted better.
- ``epe_nas`` (Lopes et al., "EPE-NAS: Efficient performance estimation without training
  for neural architecture search", ICANN 2021): per class ``c`` present in the batch,
  ``Sigma_c = corr`` of the Jacobians of the samples of class ``c`` and
  ``E_c = sum_{i,j} log(|Sigma_c[i, j]| + k)`` (``k = 1e-5``). With ``C`` classes (the
  width of the logits): ``epe_nas = sum_c |E_c|`` if ``C <= 100``; otherwise each ``E_c`` is
  first divided by the number of samples of class ``c`` and
  ``epe_nas = sum_c sum_c' |E_c - E_c'| / (number of classes present)``. Bigger is
  predicted better. Needs labels.

When a Jacobian row has zero variance (e.g. a network whose output does not depend on
its input) the correlation is undefined and the score is ``nan``: it is NOT replaced
(NAS-Bench-Suite-Zero's tables store -1e8 there).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> torch.manual_seed(0) and None
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))
>>> npass = NetworkPass(net, torch.randn(6, 3, 6, 6), torch.tensor([0, 1, 2, 0, 1, 2]))
>>> jacov(npass) <= -6  # at most -N
True
>>> epe_nas(npass) > 0
True
"""

from __future__ import annotations

import warnings

import numpy as np

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy

#: the small constant of both papers
K = 1e-5


def _jacobian(network_pass: NetworkPass) -> tuple[np.ndarray, int]:
    """``(J as float64 array (N, D), number of classes)`` from the shared pass."""
    jac, logits = network_pass.input_jacobian  # running statistics restored by the pass
    return jac.detach().double().cpu().numpy(), int(logits.shape[-1])


def _corr(rows: np.ndarray) -> np.ndarray:
    """Pearson correlation of the rows; ``nan`` entries where a row has zero variance."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.atleast_2d(np.corrcoef(rows))


def jacov_from_jacobian(jac: np.ndarray, k: float = K) -> float:
    """``-sum(log(v + k) + 1/(v + k))`` over the eigenvalues ``v`` of ``corr(jac rows)``.

    Parameters
    ----------
    jac : ndarray of shape (N, D)
        One flattened input Jacobian per sample.
    k : float, default=1e-5

    Returns
    -------
    float
        ``nan`` when the correlation matrix is undefined (a constant row).

    Examples
    --------
    >>> import numpy as np
    >>> jac = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]])  # correlation 0.5
    >>> v = np.array([0.5, 1.5])  # eigenvalues of [[1, .5], [.5, 1]]
    >>> bool(np.isclose(jacov_from_jacobian(jac), -np.sum(np.log(v + 1e-5) + 1 / (v + 1e-5))))
    True
    """
    corr = _corr(jac)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def epe_nas_from_jacobian(
    jac: np.ndarray, labels: np.ndarray, n_classes: int, k: float = K
) -> float:
    """EPE-NAS score from per-sample Jacobians and labels (see the module docstring).

    Parameters
    ----------
    jac : ndarray of shape (N, D)
    labels : ndarray of shape (N,)
        Integer class labels.
    n_classes : int
        Number of classes of the task (selects the ``C <= 100`` or ``C > 100`` formula).
    k : float, default=1e-5

    Returns
    -------
    float
        ``nan`` when a class correlation matrix is undefined.

    Examples
    --------
    >>> import numpy as np
    >>> jac = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0], [5.0, 1.0, 2.0]])
    >>> # class 0: corr 0.5 -> E_0 = 2 log(1 + k) + 2 log(0.5 + k); class 1 alone: log(1 + k)
    >>> e0 = 2 * np.log(1 + 1e-5) + 2 * np.log(0.5 + 1e-5)
    >>> got = epe_nas_from_jacobian(jac, np.array([0, 0, 1]), n_classes=10)
    >>> bool(np.isclose(got, abs(e0) + abs(np.log(1 + 1e-5))))
    True
    """
    labels = np.asarray(labels)
    if labels.shape != (jac.shape[0],):
        raise ValueError(
            f"epe_nas needs one label per sample: {jac.shape[0]} Jacobians, labels {labels.shape}"
        )
    scores = []
    for c in np.unique(labels):
        rows = jac[labels == c]
        corr = _corr(rows)
        if not np.all(np.isfinite(corr)):
            return float("nan")
        e = float(np.sum(np.log(np.abs(corr) + k)))
        if n_classes > 100:
            e /= rows.shape[0]
        scores.append(e)
    s = np.asarray(scores)
    if n_classes <= 100:
        return float(np.sum(np.abs(s)))
    return float(np.sum(np.abs(s[:, None] - s[None, :])) / len(s))


@register_proxy(
    "jacov",
    requires=("input_jacobian",),
    reference="Mellor et al., Neural Architecture Search without Training (v1), 2020",
    description="-sum(log(v+k) + 1/(v+k)) over eigenvalues of the input-Jacobian correlation",
    options={},  # reads no option of its own
)
def jacov(network_pass: NetworkPass) -> float:
    """Jacobian covariance score of Mellor et al. (v1); see the module docstring.

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; reads ``input_jacobian``.

    Returns
    -------
    float
        At most ``-N`` for a batch of ``N`` (reached for uncorrelated Jacobians); ``nan``
        when a Jacobian is constant.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(3, 2)  # a linear map: every sample has the same Jacobian
    >>> round(jacov(NetworkPass(lin, torch.randn(4, 3), torch.zeros(4).long())))  # v = (4, 0, 0, 0)
    -299967
    """
    jac, _ = _jacobian(network_pass)
    return jacov_from_jacobian(jac)


@register_proxy(
    "epe_nas",
    requires=("input_jacobian",),
    reference="Lopes et al., EPE-NAS, ICANN 2021",
    description="class-wise input-Jacobian correlation score (needs labels)",
    options={},  # reads no option of its own
)
def epe_nas(network_pass: NetworkPass) -> float:
    """EPE-NAS class-wise Jacobian correlation score; see the module docstring.

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; reads ``input_jacobian`` and ``targets``; the number of classes
        is the width of the logits.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> lin = nn.Linear(3, 2)  # identical Jacobians: every |corr| = 1, E_c = n_c^2 log(1 + k)
    >>> npass = NetworkPass(lin, torch.randn(5, 3), torch.tensor([0, 0, 1, 1, 1]))
    >>> round(epe_nas(npass) / 1e-5, 3)  # (4 + 9) * log(1 + 1e-5) / 1e-5
    13.0
    """
    jac, n_classes = _jacobian(network_pass)
    labels = network_pass.targets.detach().cpu().numpy()
    return epe_nas_from_jacobian(jac, labels, n_classes)
