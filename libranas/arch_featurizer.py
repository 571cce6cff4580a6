"""ArchFeaturizer: architectures in, a matrix of features of the architecture itself out.

Zero-cost proxies describe how an untrained network behaves; the architecture's own
structure -- which operations, how they are wired -- is the other half of what a few-label
predictor needs (GRAF, Kadlecova et al., ICML 2024). The ``"graph"`` and ``"onehot"`` groups
come from the space (:meth:`~libranas.spaces.SearchSpace.graph_features` and
:meth:`~libranas.spaces.SearchSpace.encode`), so any space that defines them works; the
``"network"`` group is read from the built PyTorch network itself
(:mod:`libranas.network_features`) and the ``"blocks"`` group from one copy of each of its
repeated blocks (:mod:`libranas.repeated_blocks`), so every space that can build a network
has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["FEATURE_GROUPS", "ArchFeaturizer"]

#: feature group -> (space method giving the names, space method giving the rows); the
#: ``"network"`` group is read from the built network (:mod:`libranas.network_features`),
#: the ``"blocks"`` group from its repeated blocks (:mod:`libranas.repeated_blocks`)
FEATURE_GROUPS: dict[str, tuple[str, str] | None] = {
    "graph": ("graph_feature_names", "graph_features_many"),
    "onehot": ("encoding_names", "encode_many"),
    "network": None,
    "blocks": None,
}


class ArchFeaturizer(TransformerMixin, BaseEstimator):
    """Graph features and one-hot encoding of architectures, as a scikit-learn transformer.

    Parameters
    ----------
    space : str or SearchSpace, default="nb201"
        A registered space name (:func:`libranas.spaces.list_spaces`) or a space object;
        ``Benchmark.space`` of every bundled table is one.
    features : sequence of {"graph", "onehot", "network", "blocks"}, default=("graph", "onehot")
        Feature groups, in output order: ``"graph"`` -- the space's graph features (op
        counts, input-output path lengths and counts per operation type, degrees, depths;
        see :mod:`libranas.spaces._graph`), ``"onehot"`` -- the space's one-hot encoding,
        ``"network"`` -- features read from the built network (built on the ``meta`` device,
        traced with torch.fx, module hooks as the fallback): counts and parameter / FLOP
        shares per operation type, input-output path counts and lengths through each
        operation type, depth, widths and resolutions per stage, attention heads, embedding
        and MLP ratios (:mod:`libranas.network_features`). Its columns are the same for every
        network, so it works on any space that builds networks (``ModelSpace``, timm lists).
        ``"blocks"`` -- one copy of each repeated block variant of the built network (normal
        and reduction cells apart): the operation at each position of the block, what feeds
        it, op counts per block, blocks per stage, and GRAF's graph features on each block's
        cell graph (the hand-made ``"graph"`` set, read from the network: equal to it on
        NAS-Bench-201) (:mod:`libranas.repeated_blocks`); its columns are fixed by
        :meth:`fit` from the architectures it sees (an operation not seen there counts in
        its position's ``=unseen`` column).
    drop_constant : bool, default=False
        Drop the columns that are constant on the architectures seen in :meth:`fit` (many
        graph features are constant in a given space, e.g. the degree of a cell's input).
    input_shape : tuple of int, optional
        ``(C, H, W)`` of the input the ``"network"`` group traces; default the space's
        ``default_input_shape``.
    num_classes : int, optional
        Classes the ``"network"`` group builds networks with; default the space's.

    Attributes
    ----------
    space_ : SearchSpace
        The resolved space.
    feature_names_out_ : ndarray of str
        ``"<group>:<name>"`` per output column, e.g. ``"graph:n_paths"``.
    n_features_out_ : int
    block_columns_ : list of str
        The ``"blocks"`` group's columns fixed in :meth:`fit` (only with that group).

    Examples
    --------
    >>> from libranas import ArchFeaturizer, load_benchmark
    >>> bench = load_benchmark("nb201-cifar10")
    >>> feats = ArchFeaturizer(bench.space).fit(bench.X.index[:5])
    >>> feats.transform(bench.X.index[:5]).shape
    (5, 85)
    >>> [str(n) for n in feats.get_feature_names_out()[:3]]
    ['graph:n_edges', 'graph:n_paths', 'graph:min_len']
    """

    def __init__(
        self,
        space: Any = "nb201",
        features: Sequence[str] = ("graph", "onehot"),
        drop_constant: bool = False,
        input_shape: Sequence[int] | None = None,
        num_classes: int | None = None,
    ) -> None:
        self.space = space
        self.features = features
        self.drop_constant = drop_constant
        self.input_shape = input_shape
        self.num_classes = num_classes

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a list of architectures
        tags.target_tags.required = False
        return tags

    def _groups(self) -> list[str]:
        groups = [self.features] if isinstance(self.features, str) else self.features
        try:
            groups = list(groups)
        except TypeError:
            raise TypeError(
                f"features must be a sequence of group names, got {self.features!r}"
            ) from None
        if not groups:
            raise ValueError(f"features is empty; choose from {list(FEATURE_GROUPS)}")
        unknown = [g for g in groups if g not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group(s) {unknown}; known: {list(FEATURE_GROUPS)}")
        if len(set(groups)) != len(groups):
            raise ValueError(f"features lists a group twice: {groups}")
        return groups

    def _all_columns(self, archs: list[Any], fitting: bool) -> tuple[np.ndarray, list[str]]:
        blocks, names = [], []
        for group in self.groups_:
            if group == "blocks":
                from libranas import repeated_blocks as bf

                desc = bf.block_descriptions(
                    self.space_, archs, input_shape=self.input_shape, num_classes=self.num_classes
                )
                if fitting:
                    self.block_columns_ = bf.block_vocabulary(desc)
                blocks.append(bf.block_matrix(desc, self.block_columns_))
                names += [f"{group}:{n}" for n in self.block_columns_]
                continue
            if FEATURE_GROUPS[group] is None:
                from libranas import network_features as nf

                block = nf.network_features_many(
                    self.space_, archs, input_shape=self.input_shape, num_classes=self.num_classes
                )
                blocks.append(block)
                names += [f"{group}:{n}" for n in nf.network_feature_names()]
                continue
            names_method, rows_method = FEATURE_GROUPS[group]
            try:
                group_names = getattr(self.space_, names_method)()
            except NotImplementedError as exc:
                raise ValueError(f"feature group {group!r} is not available: {exc}") from None
            block = getattr(self.space_, rows_method)(archs)
            blocks.append(np.asarray(block, dtype=np.float64).reshape(len(archs), -1))
            names += [f"{group}:{n}" for n in group_names]
        return np.hstack(blocks), names

    def fit(self, archs: Any, y: Any = None) -> ArchFeaturizer:
        """Resolve the space and feature groups; note the constant columns.

        Parameters
        ----------
        archs : list of architectures
            Any form the space accepts.
        y : ignored

        Returns
        -------
        self : ArchFeaturizer
        """
        from libranas.spaces import get_space

        if not isinstance(self.drop_constant, (bool, np.bool_)):
            raise TypeError(f"drop_constant must be a bool, got {self.drop_constant!r}")
        self.space_ = get_space(self.space)
        self.groups_ = self._groups()
        canonical = self.space_.validate_many(archs)
        if not canonical:
            raise ValueError("ArchFeaturizer.fit needs at least one architecture, got 0")
        values, names = self._all_columns(canonical, fitting=True)
        keep = np.ones(len(names), dtype=bool)
        if self.drop_constant:
            keep = np.ptp(values, axis=0) > 0
        self.support_ = keep
        self.feature_names_out_ = np.asarray(names, dtype=object)[keep]
        self.n_features_out_ = int(keep.sum())
        return self

    def transform(self, archs: Any) -> np.ndarray:
        """Features of every architecture.

        Parameters
        ----------
        archs : list of architectures

        Returns
        -------
        ndarray of float64, shape (n_archs, n_features_out_)
        """
        check_is_fitted(self, "feature_names_out_")
        canonical = self.space_.validate_many(archs)
        if not canonical:
            return np.empty((0, self.n_features_out_))
        values, _names = self._all_columns(canonical, fitting=False)
        return values[:, self.support_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``"<group>:<name>"`` of each output column.

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn API compatibility.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()
