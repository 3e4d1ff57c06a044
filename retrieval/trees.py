"""A gradient-boosted tree ensemble evaluated with numpy: the app needs no LightGBM.

`TreeEnsemble.from_lightgbm(booster.dump_model())` flattens LightGBM's JSON dump into arrays (also
what `retrieval/answer_model.json` stores); `predict` walks every tree for every row at once, one
level per step. Numerical splits only ("x <= threshold" goes left; a NaN follows the node's default
direction when the node treats NaN as missing, else counts as 0, as LightGBM does).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TreeEnsemble:
    feature: np.ndarray  # int, per node; -1 for a leaf
    threshold: np.ndarray  # float, per node
    left: np.ndarray  # int, global node index of the left child (a leaf points at itself)
    right: np.ndarray
    nan_left: np.ndarray  # bool: a NaN goes left (missing_type NaN and default_left)
    nan_is_missing: np.ndarray  # bool: a NaN follows nan_left (else it is compared as 0)
    value: np.ndarray  # float, leaf value (0 for inner nodes)
    roots: np.ndarray  # int, the root node of each tree
    n_features: int

    def predict(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, float)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {rows.shape}")
        if not len(rows) or not len(self.roots):
            return np.zeros(len(rows))
        walk = self._walk()
        n = len(rows)
        # every inner node's test for every row at once (node-major: one row of n per node), then each
        # level is two gathers; a leaf "goes left" to itself, so every row walks `depth` steps
        x = rows.T[walk.split_feature]
        goes_left = np.ones((len(self.feature), n), bool)
        goes_left[walk.inner] = x <= walk.split_threshold[:, None]
        if np.isnan(rows).any():
            missing = np.isnan(x)
            goes_left[walk.inner] = np.where(missing, walk.nan_goes_left[:, None], goes_left[walk.inner])
        goes_left = goes_left.ravel()
        column = np.arange(n, dtype=np.intp)
        nodes = np.repeat(walk.roots[:, None], n, axis=1)
        for _ in range(walk.depth):
            nodes = walk.child[(nodes << 1) | goes_left[nodes * n + column]]
        # summed per row over contiguous trees, in tree order: the same float sum as a row-by-row walk
        return np.ascontiguousarray(self.value[nodes].T).sum(axis=1)

    def _walk(self) -> "_Walk":
        walk = getattr(self, "_compiled", None)
        if walk is None:
            walk = _Walk.of(self)
            object.__setattr__(self, "_compiled", walk)
        return walk

    @classmethod
    def from_lightgbm(cls, dump: dict) -> "TreeEnsemble":
        """From `Booster.dump_model()`."""
        feature, threshold, left, right, nan_left, nan_missing, value, roots = [], [], [], [], [], [], [], []

        def add(node: dict) -> int:
            index = len(feature)
            for column in (feature, threshold, left, right, nan_left, nan_missing, value):
                column.append(0)
            if "leaf_value" in node:
                feature[index], left[index], right[index] = -1, index, index
                value[index] = float(node["leaf_value"])
                return index
            if node.get("decision_type", "<=") != "<=":
                raise ValueError(f"unsupported split {node.get('decision_type')!r} (categorical features are not used)")
            feature[index] = int(node["split_feature"])
            threshold[index] = float(node["threshold"])
            nan_left[index] = bool(node.get("default_left", True))
            nan_missing[index] = node.get("missing_type") == "NaN"
            left[index] = add(node["left_child"])
            right[index] = add(node["right_child"])
            return index

        for tree in dump["tree_info"]:
            roots.append(add(tree["tree_structure"]))
        return cls(np.asarray(feature, int), np.asarray(threshold, float), np.asarray(left, int),
                   np.asarray(right, int), np.asarray(nan_left, bool), np.asarray(nan_missing, bool),
                   np.asarray(value, float), np.asarray(roots, int), int(dump["max_feature_idx"]) + 1)

    def to_json(self) -> dict:
        return {"n_features": self.n_features, "roots": self.roots.tolist(), "feature": self.feature.tolist(),
                "threshold": [float(v) for v in self.threshold], "left": self.left.tolist(),
                "right": self.right.tolist(), "nan_left": self.nan_left.astype(int).tolist(),
                "nan_is_missing": self.nan_is_missing.astype(int).tolist(), "value": [float(v) for v in self.value]}

    @classmethod
    def from_json(cls, obj: dict) -> "TreeEnsemble":
        n = len(obj["feature"])
        columns = [obj[k] for k in ("threshold", "left", "right", "nan_left", "nan_is_missing", "value")]
        if any(len(c) != n for c in columns):
            raise ValueError("tree arrays differ in length")
        ensemble = cls(np.asarray(obj["feature"], int), np.asarray(obj["threshold"], float),
                       np.asarray(obj["left"], int), np.asarray(obj["right"], int),
                       np.asarray(obj["nan_left"], bool), np.asarray(obj["nan_is_missing"], bool),
                       np.asarray(obj["value"], float), np.asarray(obj["roots"], int), int(obj["n_features"]))
        if n and (ensemble.left.min() < 0 or ensemble.left.max() >= n or ensemble.right.min() < 0
                  or ensemble.right.max() >= n or ensemble.feature.max() >= ensemble.n_features
                  or (len(ensemble.roots) and (ensemble.roots.min() < 0 or ensemble.roots.max() >= n))):
            raise ValueError("tree nodes point outside the ensemble")
        inner = ensemble.feature >= 0
        if np.any(inner & ((ensemble.left <= np.arange(n)) | (ensemble.right <= np.arange(n)))):
            raise ValueError("tree nodes do not form trees")  # children come after their parent: no cycles
        return ensemble


@dataclass(frozen=True)
class _Walk:
    """The ensemble laid out for `predict`: the inner nodes' tests and a child table indexed by
    2 * node + (goes left)."""

    inner: np.ndarray  # node ids of the inner nodes
    split_feature: np.ndarray  # per inner node
    split_threshold: np.ndarray
    nan_goes_left: np.ndarray  # per inner node: where a NaN goes (LightGBM: as missing, or compared as 0)
    child: np.ndarray  # child[2 * node + 1] left, child[2 * node] right; a leaf points at itself
    roots: np.ndarray
    depth: int

    @classmethod
    def of(cls, trees: TreeEnsemble) -> "_Walk":
        inner = np.flatnonzero(trees.feature >= 0)
        threshold = trees.threshold[inner]
        nan_goes_left = np.where(trees.nan_is_missing[inner], trees.nan_left[inner], 0.0 <= threshold)
        child = np.stack([trees.right, trees.left], axis=1).ravel().astype(np.intp)
        level = np.zeros(len(trees.feature), int)
        for node in inner:  # children come after their parents
            level[trees.left[node]] = level[trees.right[node]] = level[node] + 1
        return cls(inner, trees.feature[inner].astype(np.intp), threshold, nan_goes_left, child,
                   trees.roots.astype(np.intp), int(level.max()) if len(level) else 0)
