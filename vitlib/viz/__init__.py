"""Pictures of what the notebooks compute, one module per stage in the order the notebooks teach:

- :mod:`~vitlib.viz.core`: what every picture shares (figure creation, :data:`DPI`, encoding, tiles on a
  canvas, patch-grid lines, colour bars, heat maps upsampled over an image);
- :mod:`~vitlib.viz.diagrams` (the pipeline for 00 and 06, attention step by step for 05),
  :mod:`~vitlib.viz.patches` (00-01), :mod:`~vitlib.viz.projection` (02), :mod:`~vitlib.viz.positions` (04),
  :mod:`~vitlib.viz.attention` (05-06), :mod:`~vitlib.viz.analysis` (06, 08: rollout, attention distance),
  :mod:`~vitlib.viz.training` (06, 11, 12), :mod:`~vitlib.viz.vae` (07),
  :mod:`~vitlib.viz.masking` (08).

Every ``plot_*`` function returns a ``matplotlib.figure.Figure`` (:class:`~vitlib.viz.core.Figure`, which
carries its text alternative, :func:`~vitlib.viz.core.alt_text`) and draws nothing on screen itself, so
figures are testable without a display and widgets can reuse them; ``draw_*`` functions draw into given
axes, so that composite figures are built from the single plots. Computation lives with the model code
(e.g. :func:`vitlib.analysis.cls_attention_maps`); these modules only draw. Figures are small on purpose:
they are stored inside the notebooks.
"""

from __future__ import annotations

from .analysis import plot_attention_distance, plot_rollout_comparison
from .attention import (
    plot_attention,
    plot_attention_panel,
    plot_cls_attention,
    plot_cls_attention_heads,
    token_labels,
    token_name,
)
from .core import (
    CMAPS,
    DIVERGING,
    DPI,
    FORMAT,
    LINE_COLORS,
    MARKERS,
    Figure,
    add_colorbar,
    alt_text,
    draw_patch_lines,
    epoch_means,
    figure_pixels,
    figure_to_bytes,
    grey,
    new_figure,
    overlay_heatmap,
    set_description,
    tile_array,
    tile_images,
    to_numpy_image,
    upsample_map,
)
from .diagrams import attention_steps, pipeline_stages, plot_attention_steps, plot_pipeline
from .masking import plot_masking, plot_patch_predictions
from .patches import (
    draw_patch_grid,
    draw_token_matrix,
    draw_token_planes,
    mosaic_array,
    plot_image,
    plot_images,
    plot_patch_explorer,
    plot_patch_grid,
    plot_patch_mosaic,
    plot_token_matrix,
)
from .positions import plot_pos_embed_channels, plot_pos_tables, plot_position_similarity
from .projection import as_filters, plot_filter, plot_filters
from .training import plot_confusion_matrix, plot_curves, plot_loss_curve, plot_runs
from .vae import plot_image_grid, plot_image_rows, plot_interpolation, plot_reconstructions, plot_vae_losses

__all__ = [
    "attention_steps",
    "pipeline_stages",
    "plot_attention_distance",
    "plot_attention_steps",
    "plot_pipeline",
    "plot_rollout_comparison",
    "CMAPS",
    "DIVERGING",
    "DPI",
    "FORMAT",
    "Figure",
    "LINE_COLORS",
    "MARKERS",
    "add_colorbar",
    "alt_text",
    "as_filters",
    "draw_patch_grid",
    "draw_patch_lines",
    "draw_token_matrix",
    "draw_token_planes",
    "epoch_means",
    "figure_pixels",
    "figure_to_bytes",
    "grey",
    "mosaic_array",
    "new_figure",
    "overlay_heatmap",
    "plot_attention",
    "plot_attention_panel",
    "plot_cls_attention",
    "plot_cls_attention_heads",
    "plot_confusion_matrix",
    "plot_curves",
    "plot_filter",
    "plot_filters",
    "plot_image",
    "plot_image_grid",
    "plot_image_rows",
    "plot_images",
    "plot_interpolation",
    "plot_loss_curve",
    "plot_masking",
    "plot_patch_explorer",
    "plot_patch_grid",
    "plot_patch_mosaic",
    "plot_patch_predictions",
    "plot_pos_embed_channels",
    "plot_pos_tables",
    "plot_position_similarity",
    "plot_reconstructions",
    "plot_runs",
    "plot_token_matrix",
    "plot_vae_losses",
    "set_description",
    "tile_array",
    "tile_images",
    "to_numpy_image",
    "token_labels",
    "token_name",
    "upsample_map",
]
