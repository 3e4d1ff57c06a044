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
        if np.isnan(rows).any():
            return self._predict_with_nan(rows)
        # a leaf "splits" on column 0 at +inf and points at itself, so every row walks max_depth steps
        feature = np.where(self.feature >= 0, self.feature, 0)
        threshold = np.where(self.feature >= 0, self.threshold, np.inf)
        flat = rows.ravel()
        base = (np.arange(len(rows)) * self.n_features)[:, None]
        nodes = np.broadcast_to(self.roots, (len(rows), len(self.roots))).copy()
        for _ in range(self._depth()):
            go_left = flat[base + feature[nodes]] <= threshold[nodes]
            nodes = np.where(go_left, self.left[nodes], self.right[nodes])
        return self.value[nodes].sum(axis=1)

    def _depth(self) -> int:
        depth = getattr(self, "_max_depth", None)
        if depth is None:
            level = np.zeros(len(self.feature), int)
            for node in range(len(self.feature)):  # children come after their parents
                if self.feature[node] >= 0:
                    level[self.left[node]] = level[self.right[node]] = level[node] + 1
            depth = int(level.max()) if len(level) else 0
            object.__setattr__(self, "_max_depth", depth)
        return depth

    def _predict_with_nan(self, rows: np.ndarray) -> np.ndarray:
        nodes = np.broadcast_to(self.roots, (len(rows), len(self.roots))).copy()
        row_index = np.arange(len(rows))[:, None]
        for _ in range(self._depth()):
            feature = self.feature[nodes]
            inner = feature >= 0
            x = rows[row_index, np.where(inner, feature, 0)]
            missing = np.isnan(x)
            go_left = np.where(missing & self.nan_is_missing[nodes], self.nan_left[nodes],
                               np.where(missing, 0.0, x) <= self.threshold[nodes])
            nodes = np.where(inner, np.where(go_left, self.left[nodes], self.right[nodes]), nodes)
        return self.value[nodes].sum(axis=1)

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
