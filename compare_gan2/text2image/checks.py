"""Checks of what the text-to-image commands take: the truncation and the
seed (with `errors.check_number`, which checks their other numbers) and
prompts. Each refusal is an `errors.ConfigError` naming the value and what is
allowed, which the commands print as one line.

TensorFlow-free (so is text/tokenizer.py's `split_words`): a command refuses a
bad flag before it imports TensorFlow or loads a model.
"""

from compare_gan2 import errors
from compare_gan2.text import tokenizer as tokenizer_lib

MAX_SEED = 2**31 - 1
MAX_COLUMNS = 256          # Samples per prompt in one grid (one batch).
MIN_EVAL_NUM = 100         # Enough test captions for seen and held-out pairs.
MAX_EVAL_NUM = 10000       # captioned_polygons' test split (polygons.TEST_SIZE).
EXAMPLE_PROMPT = "a red triangle on a white background"


def truncation(name, value):
  """Truncation psi: 0 (the caption's mean style) to 1 (none)."""
  return errors.check_number(
      name, value, minimum=0, maximum=1, optional=False, hint="psi pulls each "
      "sample towards its caption's mean style, from 1 (no truncation) to 0 "
      "(the mean)")


def seed(name, value):
  return errors.check_number(name, value, integer=True, minimum=0,
                             maximum=MAX_SEED, optional=False)


def prompt(text, where):
  """ConfigError unless `text` (named by `where`, e.g. "--prompt #2") has a
  word the tokenizer reads (a run of a-z or 0-9)."""
  fix = f'give a caption, e.g. "{EXAMPLE_PROMPT}"'
  if not text:
    raise errors.ConfigError(f"{where} is empty: {fix}.")
  if not text.strip():
    raise errors.ConfigError(f"{where} ({text!r}) is blank: {fix}.")
  if not tokenizer_lib.split_words(text):
    raise errors.ConfigError(
        f"{where} ({text!r}) has no words (the tokenizer reads runs of a-z and "
        f"0-9 only): {fix}.")
  return text


def prompt_warnings(prompts, tokenizer, vocabulary_name):
  """One message per prompt the model does not read as written: its words
  outside the vocabulary (they become <unk>) and its words past the caption
  length (dropped), with the words the model sees."""
  messages = []
  for number, text in enumerate(prompts, 1):
    unknown, dropped = tokenizer.unmapped_words(text)
    if not unknown and not dropped:
      continue
    parts = []
    if unknown:
      parts.append(f"{len(unknown)} word(s) not in the vocabulary of "
                   f"{vocabulary_name} ({len(tokenizer.words)} words) are "
                   f"mapped to {tokenizer_lib.SPECIAL[tokenizer_lib.UNK]}: "
                   f"{', '.join(unknown)}")
    if dropped:
      parts.append(f"{len(dropped)} word(s) past the caption length "
                   f"({tokenizer.length - 1} words) are dropped: "
                   f"{', '.join(dropped)}")
    seen = tokenizer.decode(tokenizer.encode([text])[0])
    messages.append(f"Prompt {number} {text!r}: {'; '.join(parts)}. The model "
                    f"reads {seen!r}.")
  return messages
