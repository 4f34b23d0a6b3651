"""Trained weights, config and model card of the CNN refiner (installed as ``densitometry.models``)."""
