"""A word-level tokenizer with a fixed vocabulary, in Python and in the graph.

`Tokenizer(words, length)`: ids 0 = <pad>, 1 = <eos>, 2 = <unk>, then `words`
in the given order. A caption is lower-cased (A-Z), every run of characters other
than a-z and 0-9 becomes one space, the words are looked up (unknown words ->
<unk>), cut to `length - 1`, followed by <eos> and padded with <pad> to
`length` (CLIP's text encoder reads the <eos> position). `encode` (NumPy) and
`tf_encode` (TensorFlow ops only, so it can live in an exported graph) give the
same ids; tests check it. `unmapped_words` names what a caption loses (unknown
words, words past the length), for warnings. TensorFlow is imported by the
graph methods only, so the commands can check prompts before importing it.
"""

import re

import numpy as np

PAD, EOS, UNK = 0, 1, 2
SPECIAL = ("<pad>", "<eos>", "<unk>")
_SEPARATORS = "[^a-z0-9]+"


def _ascii_lower(text):
  """Lower-cases A-Z only, as tf.strings.lower does."""
  return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                             "abcdefghijklmnopqrstuvwxyz")


def split_words(caption):
  """The words of `caption` as the tokenizer sees them."""
  return re.sub(_SEPARATORS, " ", _ascii_lower(caption)).split()


class Tokenizer:
  """Captions -> int32 ids [B, length] (see the module docstring)."""

  def __init__(self, words, length=16):
    words = list(words)
    if len(set(words)) != len(words):
      raise ValueError("Tokenizer: the vocabulary has repeated words.")
    bad = [w for w in words if split_words(w) != [w]]
    if bad:
      raise ValueError(f"Tokenizer: vocabulary entries must be single lower-case "
                       f"words of a-z0-9, got {bad[:5]}.")
    if length < 2:
      raise ValueError(f"Tokenizer: length must be >= 2, got {length}.")
    self.words = words
    self.length = int(length)
    self.vocab = list(SPECIAL) + words
    self._ids = {w: i for i, w in enumerate(self.vocab)}

  @property
  def vocab_size(self):
    return len(self.vocab)

  def encode(self, captions):
    """list of str -> int32 [B, length]."""
    out = np.full([len(captions), self.length], PAD, np.int32)
    for row, caption in enumerate(captions):
      ids = [self._ids.get(w, UNK) for w in split_words(caption)]
      ids = ids[:self.length - 1] + [EOS]
      out[row, :len(ids)] = ids
    return out

  def unmapped_words(self, caption):
    """(words of `caption` outside the vocabulary, each becoming <unk>; words
    past the first `length - 1`, dropped), in order."""
    words = split_words(caption)
    kept, dropped = words[:self.length - 1], words[self.length - 1:]
    return [w for w in kept if w not in self._ids], dropped

  def decode(self, ids):
    """int [length] -> the words before <eos> (<pad> dropped), joined by
    spaces."""
    words = []
    for i in np.asarray(ids).tolist():
      if i == EOS:
        break
      if i != PAD:
        words.append(self.vocab[i])
    return " ".join(words)

  def tf_table(self):
    """The word -> id lookup table (a TF resource; keep it alive with the
    module that uses it)."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(self.words), tf.range(3, 3 + len(self.words),
                                              dtype=tf.int64)), UNK)

  def tf_encode(self, captions, table=None):
    """string [B] tensor -> int32 [B, length], equal to `encode`."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    table = table if table is not None else self.tf_table()
    text = tf.strings.regex_replace(tf.strings.lower(captions), _SEPARATORS, " ")
    words = tf.strings.split(tf.strings.strip(text))          # ragged [B, None]
    ids = tf.ragged.map_flat_values(table.lookup, words)
    ids = ids[:, :self.length - 1]
    eos = tf.fill([tf.shape(captions)[0], 1], tf.constant(EOS, tf.int64))
    ids = tf.concat([ids, tf.RaggedTensor.from_tensor(eos)], axis=1)
    return tf.cast(ids.to_tensor(PAD, shape=[None, self.length]), tf.int32)

  def tf_decode(self, ids):
    """int [B, length] -> string [B]: the words before <eos>, space-joined
    (<pad> dropped, <unk> kept as "<unk>"), as `decode`."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    ids = tf.convert_to_tensor(ids, tf.int32)
    before_eos = tf.equal(tf.cumsum(tf.cast(tf.equal(ids, EOS), tf.int32),
                                    axis=1), 0)
    keep = before_eos & tf.not_equal(ids, PAD)
    words = tf.ragged.boolean_mask(tf.gather(tf.constant(self.vocab), ids), keep)
    return tf.strings.reduce_join(words, axis=1, separator=" ")
