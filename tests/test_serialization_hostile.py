"""``gradlite.load`` on hostile checkpoints (issue 17 F23 / F24c): decompression bombs, declared sizes the
file cannot hold, an index that refers to one array many times, bit flips in compressed archives and a deeply
nested index. Each is refused with a ``RuntimeError`` naming the file, with bounded memory, or (for legal
but odd files) loaded reading each array once. The files are crafted in ``tmp_path`` (a few hundred KB)."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import gradlite
from tests.conftest import to_numpy

MB = 1 << 20


def _tensor_entry(key, dtype, shape):
    return {
        "type": "tensor",
        "key": key,
        "dtype": dtype,
        "shape": list(shape),
        "device": "cpu",
        "requires_grad": False,
        "parameter": False,
    }


def _index(root) -> bytes:
    return json.dumps({"format": "gradlite-checkpoint", "version": 1, "root": root}).encode()


def _zinfo(name, compress):
    info = zipfile.ZipInfo(name + ".npy")
    info.compress_type = compress
    return info


def _craft(path, index: bytes, members, compress=zipfile.ZIP_STORED, index_compress=zipfile.ZIP_STORED):
    """A zip archive: ``__index__`` holding ``index``, and ``members``: [(name, descr, shape, chunks)]."""
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open(_zinfo("__index__", index_compress), "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "|u1", "fortran_order": False, "shape": (len(index),)}
            )
            fh.write(index)
        for name, descr, shape, chunks in members:
            with zf.open(_zinfo(name, compress), "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(
                    fh, {"descr": descr, "fortran_order": False, "shape": shape}
                )
                for c in chunks:
                    fh.write(c)
    return path


def _zeros(nbytes, chunk=MB):
    for start in range(0, nbytes, chunk):
        yield bytes(min(chunk, nbytes - start))


def _load_peak(path):
    """``gradlite.load(path)`` -> (result or the exception raised, peak bytes traced meanwhile)."""
    tracemalloc.start()
    try:
        try:
            out = gradlite.load(path)
        except Exception as err:  # the caller checks its class
            out = err
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _refused(path, match=""):
    out, peak = _load_peak(path)
    assert isinstance(out, RuntimeError), f"expected RuntimeError, got {type(out).__name__}: {out}"
    assert path.name in str(out) and "not a valid gradlite checkpoint" in str(out)
    assert match in str(out), str(out)
    return peak


# -- decompression bombs and declared sizes ---------------------------------------------------------------
def test_member_inflating_far_beyond_its_size(tmp_path):
    # 256 MiB of zeros deflate to ~250 KB; the index agrees with the member, so only the size check stops it
    n = 64 * MB  # float32 elements
    path = _craft(
        tmp_path / "bomb.ckpt",
        _index(_tensor_entry("t0", "float32", (n,))),
        [("t0", "<f4", (n,), _zeros(4 * n))],
        compress=zipfile.ZIP_DEFLATED,
    )
    assert path.stat().st_size < 2 * MB
    assert _refused(path, "inflates") < 50 * MB


def test_member_larger_than_its_index_entry_is_not_read(tmp_path):
    # the index says float32[4]; the member's header says 2 Mi elements (8 MiB, within the expansion budget):
    # refused from the header alone, before its data is allocated
    n = 2 * MB
    path = _craft(
        tmp_path / "liar.ckpt",
        _index(_tensor_entry("t0", "float32", (4,))),
        [("t0", "<f4", (n,), _zeros(4 * n))],
        compress=zipfile.ZIP_DEFLATED,
    )
    assert _refused(path, "index says float32[4]") < 4 * MB


def test_index_inflating_far_beyond_its_size(tmp_path):
    # JSON allows any amount of white space: a 64 MiB index deflates to ~64 KB
    index = _index({"type": "none"})
    padded = index[:-1] + b" " * (64 * MB) + index[-1:]
    path = _craft(tmp_path / "index_bomb.ckpt", padded, [], index_compress=zipfile.ZIP_DEFLATED)
    del padded
    assert path.stat().st_size < 2 * MB
    assert _refused(path, "inflates") < 50 * MB


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_declared_shape_of_10_to_the_12(compress, tmp_path):
    n = 10**12
    path = _craft(
        tmp_path / "huge.ckpt",
        _index(_tensor_entry("t0", "float64", (n,))),
        [("t0", "<f8", (n,), [bytes(64)])],
        compress=compress,
    )
    assert _refused(path, "declares float64[1000000000000]") < 10 * MB


def test_member_with_more_data_than_declared(tmp_path):
    path = _craft(
        tmp_path / "extra.ckpt",
        _index(_tensor_entry("t0", "float32", (4,))),
        [("t0", "<f4", (4,), [bytes(16 + 8)])],
    )
    _refused(path, "its member holds 24")


def test_index_referring_to_one_array_many_times_reads_it_once(tmp_path):
    # 4 MiB of data referred to 400 times: as a tensor (one tensor, shared) and as an ndarray (one array)
    path = tmp_path / "shared.ckpt"
    data = np.arange(MB, dtype=np.float32)
    gradlite.save({"w": gradlite.tensor(data), "a": data}, path)
    with zipfile.ZipFile(path) as zf:
        index = json.loads(np.lib.format.read_array(zf.open("__index__.npy")).tobytes())
    items = {k["v"]: v for k, v in index["root"]["items"]}
    root = {"type": "list", "items": [items["w"]] * 200 + [items["a"]] * 200}
    members = [("t0", "<f4", (MB,), [data.tobytes()]), ("a1", "<f4", (MB,), [data.tobytes()])]
    _craft(path, _index(root), members)
    out, peak = _load_peak(path)
    assert isinstance(out, list) and len(out) == 400, out
    assert all(t is out[0] for t in out[:200]) and all(a is out[200] for a in out[200:])
    np.testing.assert_array_equal(to_numpy(out[0]), data)
    np.testing.assert_array_equal(out[200], data)
    assert peak < 3 * data.nbytes + 4 * MB, peak


def test_stored_members_cannot_claim_more_than_the_file(tmp_path):
    # a stored member whose central directory entry claims 2 GiB in a small file
    path = _craft(
        tmp_path / "claims.ckpt",
        _index(_tensor_entry("t0", "float32", (4,))),
        [("t0", "<f4", (4,), [bytes(16)])],
    )
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last central directory entry: t0.npy
    assert data[central + 46 : central + 52] == b"t0.npy"
    data[central + 20 : central + 28] = (0x7FFFFFF0).to_bytes(4, "little") * 2  # compressed, uncompressed
    path.write_bytes(bytes(data))
    assert _refused(path, "declares 2147483632 bytes") < 10 * MB


# -- corrupted files: one error class, naming the file --------------------------------------------------
def _compressed_checkpoint(tmp_path):
    """A valid checkpoint whose members are deflated (as ``numpy.savez_compressed`` writes them)."""
    plain = tmp_path / "plain.ckpt"
    rng = np.random.default_rng(0)
    w = gradlite.tensor(rng.standard_normal((20, 20)).astype(np.float32))
    obj = {"w": w, "step": 3, "b": [1.5, None]}
    gradlite.save(obj, plain)
    path = tmp_path / "compressed.ckpt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    return path, obj


def test_compressed_checkpoint_loads(tmp_path):
    path, obj = _compressed_checkpoint(tmp_path)
    back = gradlite.load(path)
    np.testing.assert_array_equal(to_numpy(back["w"]), to_numpy(obj["w"]))
    assert back["step"] == 3 and back["b"] == [1.5, None]


def test_bit_flipped_compressed_checkpoints(tmp_path):
    # every byte of the file flipped in turn (one bit each): either it still loads the same values
    # (a flip in a time stamp), or it raises RuntimeError naming the file: never zlib.error, MemoryError,
    # struct.error, NotImplementedError or wrong data
    path, obj = _compressed_checkpoint(tmp_path)
    good = path.read_bytes()
    expected = to_numpy(obj["w"])
    bad = tmp_path / "flipped.ckpt"
    rng = np.random.default_rng(1)
    outcomes = {"loaded": 0, "refused": 0}
    for pos in range(len(good)):
        data = bytearray(good)
        data[pos] ^= 1 << int(rng.integers(0, 8))
        bad.write_bytes(bytes(data))
        try:
            back = gradlite.load(bad)
        except RuntimeError as err:
            assert "flipped.ckpt" in str(err), str(err)
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        np.testing.assert_array_equal(to_numpy(back["w"]), expected, err_msg=f"flip at byte {pos}")
        assert back["step"] == 3 and back["b"] == [1.5, None], f"flip at byte {pos}"
    assert outcomes["refused"] > len(good) // 2, outcomes


def test_deeply_nested_index(tmp_path):
    depth = 100_000
    index = b'{"format": "gradlite-checkpoint", "version": 1, "root": ' + b"[" * depth + b"]" * depth + b"}"
    path = _craft(tmp_path / "deep.ckpt", index, [])
    _refused(path)
    # deep but within the JSON parser's limit: loads, or is refused as too deep; nothing else escapes
    for depth in (300, 900):
        raw = b'{"type": "list", "items": [' * depth + b'{"type": "none"}' + b"]}" * depth
        path = _craft(tmp_path / "deep2.ckpt", _index({"type": "none"}).replace(b'{"type": "none"}', raw), [])
        try:
            out = gradlite.load(path)
        except RuntimeError as err:
            assert "deep2.ckpt" in str(err)
            continue
        for _ in range(depth):
            (out,) = out
        assert out is None


def test_unknown_compression_method(tmp_path):
    path, _ = _compressed_checkpoint(tmp_path)
    data = bytearray(path.read_bytes())
    # compression method 99 (AES) in every header: zipfile raises NotImplementedError
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(sig)
        while at >= 0:
            off = at + (8 if sig == b"PK\x03\x04" else 10)
            data[off : off + 2] = (99).to_bytes(2, "little")
            at = data.find(sig, at + 4)
    path.write_bytes(bytes(data))
    _refused(path)
