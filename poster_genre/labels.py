"""The five genres, in the order of the model's output units."""

GENRES: tuple[str, ...] = ("Action", "Comedy", "Drama", "Romance", "Thriller")
