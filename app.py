"""poster-genre: drop a movie poster, get its likely genres.

    python app.py [--host 127.0.0.1] [--port 7860] [--share] [--examples DIR] [--model model.onnx]

Serving needs only onnxruntime, numpy, pillow and gradio: no TensorFlow.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData

from poster_genre import GenreClassifier, InvalidImageError, ModelCard
from poster_genre.classifier import DEFAULT_MODEL
from poster_genre.preprocess import IMAGE_SUFFIXES

HERE = Path(__file__).resolve().parent
MAX_UPLOAD = "15mb"


class PosterImage(gr.Image):
    """An image input that hands the uploaded file itself to our decoder, so a bad file gets our message."""

    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload):
        return payload.path if payload is not None and payload.path else super().preprocess(payload)


def example_posters(folder: Path) -> list[list[str]]:
    """Image files of `folder`, sorted, as gr.Examples rows."""
    if not folder.is_dir():
        return []
    return [[str(p)] for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]


def model_card_markdown(card: ModelCard) -> str:
    """The ONNX metadata as a short model card."""
    metrics, data, probe = card.metrics, card.data, card.probe
    rows = "\n".join(f"| {genre} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |"
                     for genre, m in metrics.get("per_genre", {}).items())
    selective = "\n".join(f"| ≥ {r['threshold']:.1f} | {r['coverage']:.0%} | {r['accuracy']:.1%} |"
                          for r in metrics.get("selective", []) if r["accuracy"] is not None)
    return f"""
**Backbone** {card.backbone} · **input** {card.input_size[0]}×{card.input_size[1]} px (height×width),
{card.resize_policy} · **version** {card.version}

**Data** {data.get('posters', '?')} TMDB posters: {data.get('train', '?')} for training,
{data.get('val', '?')} held out for validation (no film on both sides).

**Validation** accuracy {metrics.get('accuracy', 0):.1%} · macro-F1 {metrics.get('macro_f1', 0):.3f} ·
top-2 accuracy {metrics.get('top2_accuracy', 0):.1%} (linear probe on frozen features:
accuracy {probe.get('accuracy', 0):.1%}, macro-F1 {probe.get('macro_f1', 0):.3f}).

| genre | precision | recall | F1 | posters |
|---|---|---|---|---|
{rows}

Trust a tag only above a confidence threshold:

| top confidence | posters kept | accuracy |
|---|---|---|
{selective}
"""


def build_demo(classifier: GenreClassifier, examples_dir: Path, reports_dir: Path) -> gr.Blocks:
    """The Space: poster in, top-k genres out, examples, and the model card."""
    labels = classifier.labels

    def ranked(poster: str, top_k: int) -> dict[str, float]:
        try:
            predictions = classifier.predict(poster, top_k=int(top_k))
        except InvalidImageError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return {p.label: round(p.confidence, 4) for p in predictions}

    def show(poster: str | None, top_k: int) -> dict[str, float] | None:
        return None if poster is None else ranked(poster, top_k)

    def predict(poster: FileData, top_k: int = len(labels)) -> dict[str, float]:
        """Genres of a movie poster with confidences, most likely first (all five by default)."""
        if not 1 <= int(top_k) <= len(labels):
            raise gr.Error(f"top_k must be between 1 and {len(labels)}.", print_exception=False)
        return ranked(poster["path"], top_k)  # gr.api hands a FileData parameter over as a dict

    examples = example_posters(examples_dir)
    with gr.Blocks(title="Poster genre") as demo:
        gr.Markdown(f"# Poster genre\nDrop a movie poster to see how likely each genre is: {', '.join(labels)}.")
        with gr.Row():
            poster = PosterImage(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                 label="Poster", height=420)
            with gr.Column():
                genres = gr.Label(num_top_classes=len(labels), label="Genres")
                top_k = gr.Slider(1, len(labels), value=3, step=1, label="Genres shown")
        if examples:
            gr.Examples(examples, inputs=poster, label="Example posters")
        else:
            gr.Markdown(f"*No example posters in `{examples_dir}`: put a few poster images there "
                        "(or set `POSTER_GENRE_EXAMPLES`) to get clickable examples.*")
        with gr.Accordion("About the model", open=False):
            gr.Markdown(model_card_markdown(classifier.card))
            plots = sorted(reports_dir.glob("*.png")) if reports_dir.is_dir() else []
            if plots:
                gr.Gallery([(str(p), p.stem.replace("_", " ")) for p in plots], columns=3, height="auto",
                           object_fit="contain", label="Validation report")
        gr.on([poster.change, top_k.change], show, [poster, top_k], genres, api_visibility="undocumented")
        gr.api(predict, api_name="predict")
    return demo


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true", default=os.environ.get("POSTER_GENRE_SHARE") == "1",
                        help="public gradio.live link (or POSTER_GENRE_SHARE=1)")
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("POSTER_GENRE_MODEL", DEFAULT_MODEL)))
    parser.add_argument("--examples", type=Path,
                        default=Path(os.environ.get("POSTER_GENRE_EXAMPLES", HERE / "examples")))
    parser.add_argument("--reports", type=Path, default=HERE / "reports")
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: POSTER_GENRE_THREADS or all cores)")
    parser.add_argument("--concurrency", type=int, default=2, help="requests classified at once")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    demo = build_demo(GenreClassifier(args.model, args.threads), args.examples, args.reports)
    demo.queue(default_concurrency_limit=args.concurrency, max_size=64)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD,
                allowed_paths=[str(args.reports)])


if __name__ == "__main__":
    main()
