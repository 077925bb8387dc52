"""A text prompt as a condition: CLAP's text embedding (a Hugging Face transformers model on local disk) -> Linear.

``path`` is a folder written by transformers' ``save_pretrained``: a ``ClapModel`` (only its text half is read)
or a ``ClapTextModelWithProjection``, with its tokenizer's files beside it; or a MusicLDM folder in diffusers'
layout, whose ``text_encoder/`` and ``tokenizer/`` subfolders hold them. Nothing is downloaded. It needs the
optional extra ``pip install 'synctrack[clap]'`` (transformers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from synctrack.errors import ArgumentError, UserError
from synctrack.interfaces import SongConditioner

# config.json's model_type of a whole CLAP model and of its text half
CLAP_TYPES = ("clap", "clap_text_model")


def import_transformers() -> Any:
    try:
        import transformers
    except ModuleNotFoundError as error:
        if error.name != "transformers":
            raise
        raise UserError("the clap_text conditioner needs transformers: pip install 'synctrack[clap]' "
                        "(or pip install transformers)") from None
    return transformers


def clap_folders(path: Path) -> tuple[Path, Path]:
    """The folders of the text model and of its tokenizer: ``path`` itself, or a MusicLDM folder's
    ``text_encoder/`` and ``tokenizer/``."""
    if (path / "text_encoder").is_dir() and (path / "tokenizer").is_dir():
        return path / "text_encoder", path / "tokenizer"
    return path, path


def read_clap_text(path: Path) -> tuple[Any, nn.Module]:
    """The tokenizer and the ``ClapTextModelWithProjection`` (float32, eval mode) saved under ``path``."""
    transformers = import_transformers()
    if not path.is_dir():
        raise ArgumentError(f"clap_text: {path} is not a folder; give path: a local folder holding a CLAP model saved "
                            "with transformers' save_pretrained and its tokenizer (nothing is downloaded)")
    model_folder, tokenizer_folder = clap_folders(path)
    config = model_folder / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type")
    except (OSError, ValueError) as error:
        raise ArgumentError(f"clap_text: cannot read {config} ({error}); {path} should hold a CLAP model saved with "
                            "save_pretrained, or a MusicLDM folder with text_encoder/ and tokenizer/") from None
    if model_type not in CLAP_TYPES:
        raise ArgumentError(f"clap_text: {config} is a {model_type!r} model, not a CLAP model ({' or '.join(CLAP_TYPES)})")
    logging = transformers.utils.logging
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    # a whole ClapModel leaves its audio weights unused, which transformers reports at length; weights the text
    # model lacks are checked below instead
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        model, info = transformers.ClapTextModelWithProjection.from_pretrained(
            model_folder, local_files_only=True, output_loading_info=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_folder, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as error:
        raise ArgumentError(f"clap_text: cannot load the CLAP text model and tokenizer from {path}: {error}") from None
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
    missing = sorted(info["missing_keys"])
    if missing:
        raise ArgumentError(f"clap_text: {model_folder} lacks {len(missing)} weight(s) of CLAP's text model "
                            f"(first: {missing[0]}); it would run with random weights")
    return tokenizer, model.float().eval()


class ClapTextConditioner(SongConditioner):
    """A prompt per song -> CLAP's text embedding ``[B, clap_dim]``, unit length -> Linear -> ``[B, embedding_dim]``.

    The text tower is frozen unless ``trainable``; the Linear always trains. A frozen tower is read from ``path``
    on first use (``load()``, which ``check`` and ``forward`` call) and is not one of the module's parameters: it
    stays in eval mode, runs without gradients, and checkpoints hold only the Linear, so the folder is needed
    wherever the model runs. A trainable tower is read when built and is trained and saved with the rest.
    ``clap_dim`` is CLAP's projection width (512 for LAION's CLAP and MusicLDM's), checked when the tower loads.
    """

    field = "prompt"

    def __init__(self, path: str, embedding_dim: int = 512, trainable: bool = False, max_length: int = 77,
                 clap_dim: int = 512) -> None:
        super().__init__()
        if embedding_dim < 1 or clap_dim < 1:
            raise ValueError(f"embedding_dim and clap_dim must be positive, got {embedding_dim} and {clap_dim}")
        if max_length < 3:
            raise ValueError(f"max_length must leave room for a token between <s> and </s>, got {max_length}")
        self.path, self.embedding_dim, self.trainable = Path(path).expanduser(), embedding_dim, trainable
        self.max_length, self.clap_dim = max_length, clap_dim
        self.projection = nn.Linear(clap_dim, embedding_dim)
        # (tokenizer, tower) once read; a tuple, so that a frozen tower is no submodule (not in state_dict,
        # parameters() or train())
        self.loaded: tuple[Any, nn.Module] | None = None
        if trainable:
            self.load()  # its weights are parameters: the optimizer must see them from the start

    def load(self) -> tuple[Any, nn.Module]:
        """The tokenizer and the text tower, read from ``path`` on the first call."""
        if self.loaded is None:
            tokenizer, tower = read_clap_text(self.path)
            config = tower.config
            if config.projection_dim != self.clap_dim:
                raise ArgumentError(f"clap_text: the CLAP model in {self.path} embeds text in {config.projection_dim} "
                                    f"dimensions; set clap_dim: {config.projection_dim} (it is {self.clap_dim})")
            # RoBERTa-style positions start after the padding index
            positions = config.max_position_embeddings - (config.pad_token_id or 0) - 1
            if self.max_length > positions:
                raise ArgumentError(f"clap_text: max_length {self.max_length} exceeds the {positions} tokens the CLAP "
                                    f"model in {self.path} takes")
            if self.trainable:
                self.tower = tower.train(self.training)
            else:
                tower.requires_grad_(False)
            self.loaded = (tokenizer, tower)
        return self.loaded

    def text_embeddings(self, prompts: tuple[str, ...]) -> torch.Tensor:
        """Prompts -> CLAP's text embedding ``[B, clap_dim]``, unit length (CLAP compares text and audio by cosine)."""
        tokenizer, tower = self.load()
        device = self.projection.weight.device
        # padding is masked out, so a song's embedding does not depend on the longer prompts of its batch
        tokens = tokenizer(list(prompts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        inputs = {"input_ids": tokens["input_ids"].to(device), "attention_mask": tokens["attention_mask"].to(device)}
        if self.trainable:
            embedded = tower(**inputs).text_embeds
        else:
            if next(tower.parameters()).device != device:
                tower.to(device)  # outside the module tree, a frozen tower does not follow .to(); it follows the Linear
            with torch.no_grad():
                embedded = tower(**inputs).text_embeds
        return F.normalize(embedded.float(), dim=-1)

    def forward(self, conditions) -> torch.Tensor:
        """:class:`SongConditions` with ``prompts`` -> ``[B, embedding_dim]``."""
        return self.projection(self.text_embeddings(conditions.prompts).to(self.projection.weight.dtype))

    def check(self, conditions) -> None:
        keep = conditions.kept().tolist()
        bad = [prompt for song, prompt in enumerate(conditions.prompts)
               if keep[song] and not (isinstance(prompt, str) and prompt.strip())]
        if bad:
            raise UserError(f"prompt {bad[0]!r} is not a text prompt: give some words ({self.accepts()})")
        self.load()  # a missing or unreadable CLAP folder is reported before sampling starts

    def accepts(self) -> str:
        return f"a text prompt (CLAP text encoder from {self.path})"
