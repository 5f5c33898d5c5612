"""Architecture names: values of `options.architecture` (compare_gan's
`gans/consts.py` names, kept so its gin files work)."""

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
ARCHITECTURES = (
    INFOGAN_ARCH, DCGAN_ARCH, RESNET5_ARCH, RESNET30_ARCH, RESNET_BIGGAN_ARCH,
    RESNET_BIGGAN_DEEP_ARCH, RESNET_CIFAR_ARCH, RESNET_STL_ARCH, SNDCGAN_ARCH,
)

# Gin module of the layer configurables (`weights`, `spectral_norm`,
# `standardize_batch`, `batch_norm`, ...): compare_gan defined them in
# `architectures/arch_ops.py`, so gin files may write `arch_ops.spectral_norm`.
# Kept although the functions now live in the layer modules (layers.py,
# normalization.py, weight_ops.py, initializers.py).
OPS_GIN_MODULE = "compare_gan2.architectures.arch_ops"
