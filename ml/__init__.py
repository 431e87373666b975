"""ML core: data, tokenizer, GloVe, models, training, export, evaluation, registry, bundle.

Importing `ml` is free: no torch, no mlflow. Heavy modules import them when called.
"""
