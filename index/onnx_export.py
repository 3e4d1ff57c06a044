"""The ONNX copy of a sentence-transformers model folder: found in the cache, or exported once.

The cache key is the model folder's content hash (every file's sha256), so a changed model is
re-exported; a stat stamp (names, sizes, mtimes) remembers the content hash so a fresh process does
not re-read the weights to find it. torch is imported here only when an export is needed.

Cache layout (default `$XDG_CACHE_HOME/letters-qa`, or `LETTERS_QA_CACHE`):
    onnx/<content hash[:24]>-e<EXPORT_VERSION>/model.onnx        fp32, dynamic batch and sequence axes
    onnx/<content hash[:24]>-e<EXPORT_VERSION>/model-int8.onnx   dynamic per-channel int8 (opt-in)
    onnx/<content hash[:24]>-e<EXPORT_VERSION>/export.json       inputs, opset, versions, file sha256s
    model-hashes/<stat stamp>                                    content hash of a model folder
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Bumped whenever the export recipe below changes, so older exports are not reused.
EXPORT_VERSION = 1
OPSET = 17
PRECISIONS = ("fp32", "int8")


class ExportFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class OnnxModel:
    """An exported model ready for onnxruntime: the .onnx file and what the runtime needs to know."""
    path: Path
    precision: str
    model_sha256: str      # content hash of the sentence-transformers folder it came from
    onnx_sha256: str
    input_names: tuple[str, ...]
    dimension: int

    def identity(self) -> dict:
        import onnxruntime

        return {"precision": self.precision, "onnx_sha256": self.onnx_sha256, "opset": OPSET,
                "export_version": EXPORT_VERSION, "onnxruntime": onnxruntime.__version__}


def default_cache_dir() -> Path:
    explicit = os.environ.get("LETTERS_QA_CACHE", "").strip()
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "letters-qa"


def _model_files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(model_dir).parts))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_content_hash(model_dir: Path, cache_dir: Path | None = None) -> str:
    """sha256 over every file's relative path and sha256; remembered per stat stamp in the cache."""
    model_dir = Path(model_dir)
    files = _model_files(model_dir)
    stamp_items = []
    for f in files:
        st = f.stat()
        stamp_items.append([f.relative_to(model_dir).as_posix(), st.st_size, st.st_mtime_ns])
    stamp = hashlib.sha256(json.dumps([str(model_dir.resolve()), stamp_items]).encode()).hexdigest()[:32]
    memo = (cache_dir or default_cache_dir()) / "model-hashes" / stamp
    try:
        remembered = memo.read_text(encoding="ascii").strip()
        if len(remembered) == 64:
            return remembered
    except (OSError, UnicodeDecodeError):
        pass
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.relative_to(model_dir).as_posix()}\0{_sha256_file(f)}\n".encode())
    content = digest.hexdigest()
    try:
        _write_atomic(memo, content.encode("ascii"))
    except OSError as exc:  # a read-only cache only costs re-hashing next time
        log.debug("cannot remember model hash in %s: %s", memo, exc)
    return content


def export_folder(model_sha256: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / "onnx" / f"{model_sha256[:24]}-e{EXPORT_VERSION}"


def onnx_model(model_dir: Path, precision: str = "fp32", cache_dir: Path | None = None,
               force: bool = False) -> OnnxModel:
    """The cached ONNX export of `model_dir` at `precision`, exporting (and quantising) it first if needed."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    model_dir = Path(model_dir)
    content = model_content_hash(model_dir, cache_dir)
    folder = export_folder(content, cache_dir)
    info = _read_info(folder)
    fp32 = folder / "model.onnx"
    if force or info is None or not fp32.is_file() or info.get("files", {}).get("model.onnx") is None:
        info = _export_fp32(model_dir, folder, content)
    if precision == "int8":
        int8 = folder / "model-int8.onnx"
        if force or not int8.is_file() or "model-int8.onnx" not in info.get("files", {}):
            info = _quantise_int8(folder, info)
    name = "model.onnx" if precision == "fp32" else "model-int8.onnx"
    return OnnxModel(path=folder / name, precision=precision, model_sha256=content,
                     onnx_sha256=info["files"][name], input_names=tuple(info["inputs"]),
                     dimension=int(info["dimension"]))


def _read_info(folder: Path) -> dict | None:
    try:
        info = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("export_version") == EXPORT_VERSION else None


def _write_info(folder: Path, info: dict) -> None:
    _write_atomic(folder / "export.json", json.dumps(info, indent=2, sort_keys=True).encode("utf-8"))


def _export_fp32(model_dir: Path, folder: Path, content: str) -> dict:
    """torch.onnx.export (TorchScript exporter, opset 17) of the transformer's last hidden state."""
    log.warning("exporting %s to ONNX once (cached in %s)", model_dir, folder)
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise ExportFailed(f"exporting to ONNX needs torch and transformers ({exc})") from None
    try:
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        sample = tokenizer(["a sample sentence", "another one"], padding=True, return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

        class LastHiddenState(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, *tensors):
                return self.inner(**dict(zip(names, tensors))).last_hidden_state

        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model.onnx.")
        os.close(fd)
        try:
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript tracer's notes are not the user's concern
                torch.onnx.export(
                    LastHiddenState(model), tuple(sample[n] for n in names), tmp, dynamo=False,
                    opset_version=OPSET, input_names=names, output_names=["last_hidden_state"],
                    dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]})
            os.replace(tmp, folder / "model.onnx")
        finally:
            Path(tmp).unlink(missing_ok=True)
        dimension = int(model.config.hidden_size)
    except ExportFailed:
        raise
    except Exception as exc:
        raise ExportFailed(f"could not export {model_dir} to ONNX: {exc}".splitlines()[0]) from None
    info = {"export_version": EXPORT_VERSION, "opset": OPSET, "model_sha256": content,
            "model_dir": str(model_dir), "inputs": names, "dimension": dimension,
            "torch": torch.__version__, "files": {"model.onnx": _sha256_file(folder / "model.onnx")}}
    _write_info(folder, info)
    return info


def _quantise_int8(folder: Path, info: dict) -> dict:
    """Dynamic int8 quantisation, per output channel, of the fp32 export."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ExportFailed(f"int8 quantisation needs onnxruntime and onnx ({exc})") from None
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model-int8.", suffix=".onnx")
    os.close(fd)
    try:
        quantize_dynamic(str(folder / "model.onnx"), tmp, per_channel=True, weight_type=QuantType.QInt8)
        os.replace(tmp, folder / "model-int8.onnx")
    except Exception as exc:
        raise ExportFailed(f"could not quantise {folder / 'model.onnx'} to int8: {exc}".splitlines()[0]) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    info = {**info, "files": {**info["files"], "model-int8.onnx": _sha256_file(folder / "model-int8.onnx")}}
    _write_info(folder, info)
    return info
