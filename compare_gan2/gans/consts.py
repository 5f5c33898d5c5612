"""Names shared across compare_gan2 (compare_gan's `gans/consts.py`)."""

# Architecture names (values of `ModularGAN.architecture` / `options.architecture`).
DCGAN_ARCH = "dcgan_arch"
DUMMY_ARCH = "dummy_arch"  # Tests only.
INFOGAN_ARCH = "infogan_arch"
RESNET5_ARCH = "resnet5_arch"
RESNET30_ARCH = "resnet30_arch"
RESNET_BIGGAN_ARCH = "resnet_biggan_arch"
RESNET_BIGGAN_DEEP_ARCH = "resnet_biggan_deep_arch"
RESNET_CIFAR_ARCH = "resnet_cifar_arch"
RESNET_STL_ARCH = "resnet_stl_arch"
SNDCGAN_ARCH = "sndcgan_arch"

# Every real architecture (the dummy one is excluded, as in compare_gan).
ARCHITECTURES = [
    INFOGAN_ARCH, DCGAN_ARCH, RESNET5_ARCH, RESNET30_ARCH, RESNET_BIGGAN_ARCH,
    RESNET_BIGGAN_DEEP_ARCH, RESNET_CIFAR_ARCH, RESNET_STL_ARCH, SNDCGAN_ARCH,
]

# Weight initializer names (values of `weights.initializer`).
NORMAL_INIT = "normal"
TRUNCATED_INIT = "truncated"
ORTHOGONAL_INIT = "orthogonal"
INITIALIZERS = [NORMAL_INIT, TRUNCATED_INIT, ORTHOGONAL_INIT]
