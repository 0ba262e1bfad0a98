"""Seedance Bot: a Discord bot that turns a prompt into a short video through RunComfy."""

__version__ = "0.1.0"
