"""LoadClipFrames / LoadClipAnnotations on damaged files: corrupt or truncated image data and non-binary masks are
errors naming the file, whatever the decoding backend."""
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from avsseg.datasets.transforms import LoadClipAnnotations, LoadClipFrames
from avsseg.utils import forked_worker_init

SHAPE = (48, 64)


def _frame():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (*SHAPE, 3), dtype=np.uint8)
    img[10:30, 20:50] = (250, 40, 40)
    return img


def _encode(array, fmt, **kwargs):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **kwargs)
    return buf.getvalue()


def _garbled(data):
    """The same file with 40 bytes of its entropy-coded data overwritten: it still decodes, to a wrong picture."""
    data = bytearray(data)
    mid = len(data) // 2
    data[mid:mid + 40] = np.random.default_rng(1).integers(0, 256, 40, dtype=np.uint8).tobytes()
    return bytes(data)


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _load_frames(paths, backend):
    return LoadClipFrames(imdecode_backend=backend).transform(dict(clip_id='clip', img_paths=list(paths)))


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_intact_jpeg_and_png_frames_load_as_before(tmp_path, backend):
    jpeg = _encode(_frame(), 'JPEG', quality=90)
    png = _encode(_frame(), 'PNG')
    out = _load_frames([_write(tmp_path, 'a.jpg', jpeg), _write(tmp_path, 'b.png', png)], backend)
    np.testing.assert_array_equal(out['imgs'][0], np.asarray(Image.open(io.BytesIO(jpeg)).convert('RGB')))
    np.testing.assert_array_equal(out['imgs'][1], _frame())


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_corrupt_jpeg_frame_is_an_error_naming_the_file(tmp_path, backend, capfd):
    """libjpeg recovers from corrupt entropy-coded data and only prints a warning; the frame is garbage."""
    good = _write(tmp_path, '0.jpg', _encode(_frame(), 'JPEG', quality=90))
    bad = _write(tmp_path, '1.jpg', _garbled(_encode(_frame(), 'JPEG', quality=90)))
    with pytest.raises(ValueError, match=r'cannot decode frame 1 of clip clip \(.*1\.jpg\): corrupt JPEG data'):
        _load_frames([good, bad], backend)
    # the decoder's own line does not also reach stderr: the error says it
    assert 'Corrupt JPEG data' not in capfd.readouterr().err


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_truncated_jpeg_frame_is_an_error_naming_the_file(tmp_path, backend):
    data = _encode(_frame(), 'JPEG', quality=90)
    bad = _write(tmp_path, '0.jpg', data[:len(data) - 100])
    with pytest.raises(ValueError, match=r'cannot decode frame 0 of clip clip \(.*0\.jpg\)'):
        _load_frames([bad], backend)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('cut', [5, 12, 200])
def test_truncated_png_frame_is_an_error_naming_the_file(tmp_path, backend, cut):
    """PIL decodes a PNG whose end (the IEND chunk) is missing without complaint."""
    data = _encode(_frame(), 'PNG')
    bad = _write(tmp_path, '0.png', data[:len(data) - cut])
    with pytest.raises(ValueError, match=r'cannot decode frame 0 of clip clip \(.*0\.png\): truncated PNG'):
        _load_frames([bad], backend)


def test_png_with_a_bad_checksum_is_an_error(tmp_path):
    data = bytearray(_encode(_frame(), 'PNG'))
    data[-20] ^= 0x01  # inside the last IDAT chunk: the chunk's CRC no longer matches
    bad = _write(tmp_path, '0.png', bytes(data))
    with pytest.raises(ValueError, match=r'0\.png\): corrupt PNG: CRC mismatch in chunk IDAT'):
        _load_frames([bad], 'pillow')


def test_png_structure_problem():
    from avsseg.datasets.transforms.loading import png_structure_problem
    data = _encode(_frame(), 'PNG')
    assert png_structure_problem(data) is None
    assert png_structure_problem(data + b'trailing bytes after IEND') is None
    assert 'truncated PNG' in png_structure_problem(data[:-12])
    assert 'truncated PNG' in png_structure_problem(data[:20])


def _load_masks(tmp_path, masks, **kwargs):
    frames = [_write(tmp_path, f'f{t}.png', _encode(_frame(), 'PNG')) for t in range(len(masks))]
    paths = [_write(tmp_path, f'm{t}.png', _encode(m, 'PNG')) for t, m in enumerate(masks)]
    results = LoadClipFrames().transform(dict(clip_id='clip', img_paths=frames, seg_map_paths=paths))
    return LoadClipAnnotations(**kwargs).transform(dict(results, label_format='binary'))


def _mask(value=255):
    m = np.zeros(SHAPE, np.uint8)
    m[10:30, 20:50] = value
    return m


def test_binary_masks_zero_and_one_or_255(tmp_path):
    out = _load_masks(tmp_path, [_mask(255), _mask(1), np.zeros(SHAPE, np.uint8),
                                 np.repeat(_mask(255)[..., None], 3, axis=2)])
    for seg in out['gt_seg_maps'][:2] + out['gt_seg_maps'][3:]:
        np.testing.assert_array_equal(seg, _mask(1))
    assert not out['gt_seg_maps'][2].any()


def test_grey_values_in_a_binary_mask_are_refused(tmp_path):
    """A mask saved as JPEG has grey edges: > 0 used to count them as object (1271 -> 1900 pixels)."""
    mask = _mask(255)
    blurred = np.asarray(Image.open(io.BytesIO(_encode(mask, 'JPEG', quality=75))))
    assert len(np.unique(blurred)) > 2
    with pytest.raises(ValueError) as err:
        _load_masks(tmp_path, [_mask(255), blurred])
    msg = str(err.value)
    assert 'm1.png' in msg and 'clip clip' in msg and 'only 0 and 255 (or 0 and 1)' in msg
    n_grey = int(((blurred != 0) & (blurred != 255)).sum())
    assert f'{n_grey} pixel(s)' in msg
    for bad in (np.where(mask > 0, 128, 0).astype(np.uint8), np.where(mask > 0, 2, 0).astype(np.uint8)):
        with pytest.raises(ValueError, match=r'm0\.png of clip clip'):
            _load_masks(tmp_path, [bad])
    mixed = _mask(255)
    mixed[0, 0] = 1  # 0/1 and 0/255 conventions in one file
    with pytest.raises(ValueError, match=r'1 pixel\(s\)'):
        _load_masks(tmp_path, [mixed])
    rgb = np.repeat(_mask(255)[..., None], 3, axis=2)
    rgb[5, 5] = (0, 0, 90)
    with pytest.raises(ValueError, match=r'm0\.png of clip clip .*1 pixel\(s\)'):
        _load_masks(tmp_path, [rgb])


def test_truncated_mask_png_is_an_error_naming_the_file(tmp_path):
    frame = _write(tmp_path, 'f.png', _encode(_frame(), 'PNG'))
    data = _encode(_mask(), 'PNG')
    mask = _write(tmp_path, 'm.png', data[:-12])
    results = LoadClipFrames().transform(dict(clip_id='clip', img_paths=[frame], seg_map_paths=[mask]))
    with pytest.raises(ValueError, match=r'cannot decode mask 0 of clip clip \(.*m\.png\): truncated PNG'):
        LoadClipAnnotations().transform(results)


def test_decoder_output_unrelated_to_corruption_still_reaches_stderr(tmp_path, capfd):
    """Only corruption messages become errors; other decoder output is passed on, not swallowed."""
    from avsseg.datasets.transforms.loading import _DecoderMessages
    with _DecoderMessages() as messages:
        cv2.imdecode(np.frombuffer(_encode(_frame(), 'JPEG'), np.uint8), cv2.IMREAD_COLOR)
        import os
        os.write(2, b'some other library line\n')
    assert messages.corruption is None
    assert 'some other library line' in capfd.readouterr().err


def _decode_in_child(path):
    try:
        _load_frames([path], 'cv2')
    except ValueError as err:
        return str(err)
    return 'decoded'


def test_corrupt_jpeg_detected_in_forked_workers(tmp_path):
    """Dataloader workers are forked after the parent decoded frames: each process collects its own messages."""
    import multiprocessing
    good = _write(tmp_path, 'good.jpg', _encode(_frame(), 'JPEG', quality=90))
    bad = _write(tmp_path, 'bad.jpg', _garbled(_encode(_frame(), 'JPEG', quality=90)))
    _load_frames([good], 'cv2')  # the parent has used its scratch file before forking
    with multiprocessing.get_context('fork').Pool(2, initializer=forked_worker_init) as pool:
        out = pool.map(_decode_in_child, [bad, good, bad])
    assert out[1] == 'decoded'
    assert all('bad.jpg): corrupt JPEG data' in o for o in (out[0], out[2]))
    with pytest.raises(ValueError, match='corrupt JPEG data'):
        _load_frames([bad], 'cv2')


def test_closed_stderr_decodes_without_the_check_after_a_warning(tmp_path, monkeypatch):
    """A process whose descriptor 2 cannot be redirected still loads frames, and says what it cannot check."""
    from avsseg.datasets.transforms import loading
    good = _write(tmp_path, 'good.jpg', _encode(_frame(), 'JPEG', quality=90))

    def no_dup(fd):
        raise OSError(9, 'Bad file descriptor')

    monkeypatch.setattr(loading.os, 'dup', no_dup)
    monkeypatch.setattr(loading._DecoderMessages, '_warned_pids', set())
    with pytest.warns(UserWarning, match='without the corrupt-data check'):
        out = _load_frames([good], 'cv2')
    assert out['imgs'][0].shape == (*SHAPE, 3)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        _load_frames([good], 'cv2')  # warned once per process
