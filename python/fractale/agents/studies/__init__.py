"""Research studies: agents that run an application many times and learn from the figures.

``optimize`` searches the parameters a plan bounds for the best figure of merit; ``scale``
measures strong or weak scaling over a list of sizes. Both run the application through the
batch step and read their figures with the results step, so every run is a real job with
its own records, and both keep a table of what they measured.
"""
