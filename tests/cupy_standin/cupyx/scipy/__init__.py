"""``cupyx.scipy`` on the stand-in (empty: gradlite uses none of it)."""
