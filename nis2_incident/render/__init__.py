"""Output: JSON (stable keys) and Rich views. Rich is imported only by the views that draw."""
