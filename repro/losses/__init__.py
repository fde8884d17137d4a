"""Pure loss maths for the HCRAL paper and the losses it compares with (torch only).

Nothing here imports mmdet: `repro/mmdet/losses.py` and `repro/mmdet/hcral.py` wrap these
functions as MMDetection modules. HCRAC and HCRAR are *reconstructions* from the paper's
prose and ablations (its equations are lost from our copy and no code is public:
../shared/docs/methods.md section 3), not the authors' equations.
"""
from repro.losses.boxes import box_geometry, iou_aligned
from repro.losses.dr import dr_loss
from repro.losses.eiou import eiou_loss, focal_eiou_loss
from repro.losses.alpha_iou import alpha_iou_loss
from repro.losses.hcrac import adaptive_matrix, ghm_weights, hcrac_loss, rci_cls
from repro.losses.hcrar import RunningMean, hcrar_cf, hcrar_loss, rci_reg
from repro.losses.reduce import weight_reduce

__all__ = ["box_geometry", "iou_aligned", "dr_loss", "eiou_loss", "focal_eiou_loss",
           "alpha_iou_loss", "adaptive_matrix", "ghm_weights", "hcrac_loss", "rci_cls",
           "RunningMean", "hcrar_cf", "hcrar_loss", "rci_reg", "weight_reduce"]
