import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from avsseg.datasets.maskige import masks_to_maskige, read_maskige

TOOL = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters', 'make_maskige.py'))


def _tool():
    spec = importlib.util.spec_from_file_location('make_maskige', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tiny_sam(tmp_path_factory):
    """A randomly initialised SAM with tiny vision / prompt / mask-decoder configs, saved like a hub folder."""
    torch = pytest.importorskip('torch')
    transformers = pytest.importorskip('transformers')
    torch.manual_seed(0)
    vision = transformers.SamVisionConfig(
        hidden_size=16, output_channels=16, num_hidden_layers=2, num_attention_heads=2, image_size=64,
        patch_size=16, window_size=2, global_attn_indexes=[1], num_pos_feats=8, mlp_dim=32)
    prompt = transformers.SamPromptEncoderConfig(hidden_size=16, image_size=64, patch_size=16,
                                                 mask_input_channels=4)
    decoder = transformers.SamMaskDecoderConfig(hidden_size=16, mlp_dim=32, num_hidden_layers=1,
                                                num_attention_heads=2, iou_head_hidden_dim=16)
    config = transformers.SamConfig(vision_config=vision.to_dict(), prompt_encoder_config=prompt.to_dict(),
                                    mask_decoder_config=decoder.to_dict())
    model_dir = str(tmp_path_factory.mktemp('tiny_sam'))
    transformers.SamModel(config).save_pretrained(model_dir)
    transformers.SamImageProcessor(size={'longest_edge': 64}, pad_size={'height': 64, 'width': 64},
                                   mask_size={'longest_edge': 16},
                                   mask_pad_size={'height': 16, 'width': 16}).save_pretrained(model_dir)
    return model_dir


def _s4_frames(root, num=2, size=(24, 32)):
    frames = []
    rng = np.random.default_rng(0)
    for t in range(num):
        path = osp.join(root, 's4_data', 'visual_frames', 'train', 'dog', 'vid', f'vid_{t + 1}.png')
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        frames.append(path)
    return frames


def _outputs(root, t):
    base = osp.join(root, 's4_data', 'pre_SAM_mask', 'train', 'dog', 'vid', f'vid_{t + 1}')
    return base + '_mask_color.png', base + '_mask.npy'


def test_sam_generator_writes_official_layout_and_resumes(tiny_sam, tmp_path):
    tool = _tool()
    root = str(tmp_path / 'Single-source')
    _s4_frames(root)
    argv = [root, '--dataset', 's4', '--generator', 'sam', '--model-dir', tiny_sam, '--points-per-crop', '2',
            '--points-per-batch', '4', '--pred-iou-thresh', '0', '--stability-score-thresh', '0',
            '--no-progress']
    counts = tool.run(tool.parse_args(argv))
    assert counts == dict(generated=2, coloured=0, skipped=0, failed=0)
    for t in range(2):
        png, npy = _outputs(root, t)
        masks = np.load(npy)
        assert masks.dtype == bool and masks.ndim == 3 and masks.shape[1:] == (24, 32)
        np.testing.assert_array_equal(read_maskige(png), masks_to_maskige(masks))

    # second run: everything is done, and the model is not even loaded
    def no_model(*args, **kwargs):
        raise AssertionError('a finished run must not load the model')

    loader, tool.build_sam_generator = tool.build_sam_generator, no_model
    assert tool.run(tool.parse_args(argv)) == dict(generated=0, coloured=0, skipped=2, failed=0)
    tool.build_sam_generator = loader
    # a lost PNG is rebuilt from its proposals, a truncated .npy regenerates the frame
    os.remove(_outputs(root, 0)[0])
    with open(_outputs(root, 1)[1], 'wb') as f:
        f.write(b'\x93NUMPY')
    assert tool.run(tool.parse_args(argv)) == dict(generated=1, coloured=1, skipped=0, failed=0)
    assert osp.isfile(_outputs(root, 0)[0])
    assert tool.run(tool.parse_args(argv + ['--overwrite'])) == dict(generated=2, coloured=0, skipped=0, failed=0)


def test_sam_generator_needs_a_local_folder(tmp_path):
    tool = _tool()
    root = str(tmp_path / 'Single-source')
    _s4_frames(root, num=1)
    with pytest.raises(FileNotFoundError, match='SAM model folder not found'):
        tool.run(tool.parse_args([root, '--dataset', 's4', '--model-dir', str(tmp_path / 'none')]))
    with pytest.raises(ValueError, match='--model-dir'):
        tool.run(tool.parse_args([root, '--dataset', 's4']))
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(FileNotFoundError, match='config.json'):
        tool.run(tool.parse_args([root, '--dataset', 's4', '--model-dir', str(tmp_path / 'empty')]))


def test_npy_and_plugin_generators(tmp_path):
    tool = _tool()
    root = str(tmp_path / 'frames')
    os.makedirs(osp.join(root, 'a'))
    frame = osp.join(root, 'a', 'x.jpg')
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(frame)

    plugin = tmp_path / 'plugin.py'
    plugin.write_text(
        'import numpy as np\n'
        'def build(width):\n'
        '    def generate(image):\n'
        '        masks = np.zeros((2, *image.shape[:2]), bool)\n'
        '        masks[0, :, :width] = True\n'
        '        masks[1, :2, :2] = True\n'
        '        return masks\n'
        '    return generate\n')
    out_root = str(tmp_path / 'out')
    argv = [root, '--dataset', 'folder', '--generator', f'{plugin}:build', '--generator-kwargs', '{"width": 4}',
            '--out-root', out_root, '--out-size', '4', '--no-progress']
    assert tool.run(tool.parse_args(argv))['generated'] == 1
    png = osp.join(out_root, 'a', 'x_mask_color.png')
    masks = np.load(osp.join(out_root, 'a', 'x_mask.npy'))
    assert masks.shape == (2, 6, 8)
    np.testing.assert_array_equal(read_maskige(png), masks_to_maskige(masks, out_size=4))

    # --generator npy only colours existing proposals (here after the PNG was removed)
    os.remove(png)
    npy_argv = [root, '--dataset', 'folder', '--generator', 'npy', '--out-root', out_root, '--no-progress']
    assert tool.run(tool.parse_args(npy_argv))['coloured'] == 1
    np.testing.assert_array_equal(read_maskige(png), masks_to_maskige(masks))
    assert tool.run(tool.parse_args(npy_argv))['skipped'] == 1
    # proposals elsewhere (a mirror of the data root), Maskiges beside the frames
    with pytest.raises(RuntimeError, match='x.jpg'):
        tool.run(tool.parse_args([root, '--dataset', 'folder', '--generator', 'npy', '--proposals-root',
                                  str(tmp_path / 'none'), '--no-progress']))
    counts = tool.run(tool.parse_args([root, '--dataset', 'folder', '--generator', 'npy', '--proposals-root',
                                       out_root, '--no-progress']))
    assert counts['coloured'] == 1 and osp.isfile(osp.join(root, 'a', 'x_mask_color.png'))

    # a generator returning masks of the wrong size is refused, naming the frame; --keep-going records it
    bad = tmp_path / 'bad.py'
    bad.write_text('import numpy as np\ndef build():\n    return lambda image: np.zeros((1, 3, 3), bool)\n')
    bad_argv = [root, '--dataset', 'folder', '--generator', f'{bad}:build', '--out-root', str(tmp_path / 'o2'),
                '--no-progress']
    with pytest.raises(RuntimeError, match='x.jpg'):
        tool.run(tool.parse_args(bad_argv))
    # a generator that cannot be built stops the run even with --keep-going
    broken = tmp_path / 'broken.py'
    broken.write_text('def build():\n    raise ValueError("boom")\n')
    with pytest.raises(tool.GeneratorBuildError, match='boom'):
        tool.run(tool.parse_args([root, '--dataset', 'folder', '--generator', f'{broken}:build', '--out-root',
                                  str(tmp_path / 'o3'), '--keep-going', '--no-progress']))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert tool.main(bad_argv + ['--keep-going']) == 1
    finally:
        os.chdir(cwd)
    assert 'x.jpg' in (tmp_path / 'make_maskige_failures.txt').read_text()


def test_list_frames_of_the_official_layouts(tmp_path):
    tool = _tool()

    def touch(*parts):
        path = osp.join(str(tmp_path), *parts)
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(path)
        return path

    s4 = [touch('s4', 's4_data', 'visual_frames', split, 'cat', 'v', 'v_1.png') for split in ('train', 'test')]
    touch('s4', 's4_data', 'visual_frames', 'train', 'cat', 'v', 'v_1_mask_color.png')  # an output, not a frame
    assert tool.list_frames(str(tmp_path / 's4'), 's4') == sorted(s4)
    assert tool.list_frames(str(tmp_path / 's4'), 's4', split='test') == [s4[1]]

    ms3 = [touch('ms3', 'ms3_data', 'visual_frames', name, f'{name}.mp4_1.png') for name in ('a', 'b')]
    (tmp_path / 'ms3' / 'ms3_meta_data.csv').write_text('video_id,start,split\na,0,train\nb,0,val\n')
    assert tool.list_frames(str(tmp_path / 'ms3'), 'ms3') == ms3
    assert tool.list_frames(str(tmp_path / 'ms3'), 'ms3', split='val') == [ms3[1]]

    avss = [touch('avss', sub, uid, 'frames', '0.jpg') for sub, uid in (('v1s', 'u1'), ('v2', 'u2'))]
    touch('avss', 'v2', 'u2', 'processed_frames', '0.jpg')
    (tmp_path / 'avss' / 'metadata.csv').write_text(
        'vid,uid,s_min,s_sec,a_obj,split,label\nx,u1,0,0,dog,train,v1s\ny,u2,0,0,car,test,v2\n')
    assert tool.list_frames(str(tmp_path / 'avss'), 'avss') == avss
    assert tool.list_frames(str(tmp_path / 'avss'), 'avss', split='test') == [avss[1]]
    assert len(tool.list_frames(str(tmp_path / 'avss'), 'avss', frames_dirname='processed_frames')) == 1
    with pytest.raises(FileNotFoundError, match='no ms3 frames'):
        tool.list_frames(str(tmp_path / 's4'), 'ms3')
    with pytest.raises(ValueError, match="split 'nope'"):
        tool.list_frames(str(tmp_path / 'ms3'), 'ms3', split='nope')
