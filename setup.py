"""avsseg: audio-visual segmentation on OpenMMLab 2.x.

Dependencies are installed by ``tools/setup_env.sh`` (mmcv must be compiled against the installed torch), so
``install_requires`` only lists what pip can resolve safely without touching torch or mmcv.
"""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'avsseg', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [
            line.split('#')[0].strip() for line in f
            if line.split('#')[0].strip()
        ]


setup(
    name='avsseg',
    version=read_version(),
    description='Audio-visual segmentation toolbox on MMEngine / MMSeg / MMDet',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime.txt'),
    extras_require=dict(tests=read_requirements('tests.txt')),
    license='Apache-2.0',
    zip_safe=False,
)
