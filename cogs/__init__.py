"""Thin slash-command cogs: parse options, call one service, render the reply."""
