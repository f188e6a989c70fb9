"""The composition: settings and layout mapped to each component's narrow ``...Args`` (issue 15).

One module per area (``pki``, ``vault``, ``consul``, ``apps``); :class:`secure_mesh.platform.SecureMeshPlatform`
calls them and wires each component's outputs into the next component's Args. Only this package (and the pure
builders it calls) reads the settings models and the layout; the components consume plain values and Inputs.
"""
