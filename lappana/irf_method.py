"""How a run's IRF is made from an IRF set's pointing nodes: the names lappana and spoold share.

``interpolate`` (lstchain_create_dl3_file's default): between the nodes around the
run; ``nearest`` (its ``--use-nearest-irf-node``): the nearest node unchanged. No
import here, so that spoold's request code can use the names cheaply.
"""

IRF_INTERPOLATE, IRF_NEAREST = "interpolate", "nearest"
IRF_METHODS = (IRF_INTERPOLATE, IRF_NEAREST)

__all__ = ["IRF_INTERPOLATE", "IRF_NEAREST", "IRF_METHODS"]
