"""compare_gan2: compare_gan's GAN library on TensorFlow 2 and tf.distribute."""

__version__ = "0.1.0"
