"""The host side: read a rendered file, check the host, fetch weights, bring the stack up and follow it.

Imports recipe/ (the render) one way; recipe/ never imports this package.
"""
