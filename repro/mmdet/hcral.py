"""HCRAL in MMDetection: the EATSS assigner and RetinaNet / ATSS heads that give the
IoU-aware classification losses (QFL, VFL, HCRAC) their IoU soft targets and HCRAR its
scores. HCRAL (HCRAC, HCRAR, EATSS) is reconstructed from the paper's prose and
ablations, not from its equations (methods.md section 3).

- `EATSSAssigner` (TASK_UTILS): ATSS, then per ground truth: Dis_f = the largest centre
  distance of its ATSS positives; among the priors still negative whose centre lies
  inside the box and within Dis_f, rank by IoU - dist_weight * distance / Dis_f and
  make the top `l` positives (fewer where fewer qualify; none where none do). The
  paper names the ranking's two ingredients, not how they combine: `dist_weight` is ours.
- `HCRALRetinaHead`, `HCRALATSSHead` (MODELS): the shipped heads, except that the
  classification loss receives the IoU of each positive's decoded box with its target
  (QFL: (labels, IoU); VFL: one-hot x IoU, as the GFL / VFNet heads build them; HCRAC:
  ious=), the regression loss receives the target class's score (HCRAR: scores=), and
  DR loss ranks the entries of all FPN levels together. With any other loss they behave
  exactly as the parent heads.
- `HCRALVFNetHead` (MODELS): VarifocalNet's head (FCOS+ATSS with the star-shaped
  deformable conv and box refinement: the paper's auxiliary modules) feeding HCRAC and
  HCRAR the same way.
"""
from __future__ import annotations

import torch
from mmdet.models.dense_heads import ATSSHead, RetinaHead, VFNetHead
from mmdet.models.losses import QualityFocalLoss, VarifocalLoss
from mmdet.models.task_modules.assigners import ATSSAssigner
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from torch import Tensor

from repro.core.outcomes import NAN, Diverged
from repro.mmdet.losses import DRLoss, HCRACLoss, HCRARLoss


@TASK_UTILS.register_module()
class EATSSAssigner(ATSSAssigner):
    """ATSS plus up to `l` extra positives per ground truth (the HCRAL paper's EATSS, l = 3)."""

    def __init__(self, *args, l: int = 3, dist_weight: float = 1.0, **kwargs) -> None:  # noqa: E741
        super().__init__(*args, **kwargs)
        self.l, self.dist_weight = int(l), float(dist_weight)

    def assign(self, pred_instances, num_level_priors, gt_instances, gt_instances_ignore=None):
        result = super().assign(pred_instances, num_level_priors, gt_instances, gt_instances_ignore)
        gt, priors = gt_instances.bboxes, pred_instances.priors[:, :4]
        if self.l <= 0 or len(gt) == 0 or len(priors) == 0:
            return result
        added = extra_positives(priors, gt, result.gt_inds, self.l, self.dist_weight)
        for g, idx in enumerate(added):
            if len(idx):
                result.gt_inds[idx] = g + 1
                result.max_overlaps[idx] = bbox_overlaps(priors[idx], gt[g:g + 1]).view(-1)
                result.labels[idx] = gt_instances.labels[g]
        return result


def _centres(b: Tensor) -> Tensor:
    return torch.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], 1)


def extra_positives(priors: Tensor, gt: Tensor, gt_inds: Tensor, l: int,  # noqa: E741
                    dist_weight: float = 1.0) -> list[Tensor]:
    """Per ground truth, the prior indices EATSS adds (gt_inds: ATSS's, 1-based, 0 = negative)."""
    overlaps = bbox_overlaps(priors, gt)  # (P, G)
    pc, gc = _centres(priors), _centres(gt)
    dist = torch.cdist(pc, gc)
    inside = ((pc[:, None, 0] > gt[None, :, 0]) & (pc[:, None, 0] < gt[None, :, 2])
              & (pc[:, None, 1] > gt[None, :, 1]) & (pc[:, None, 1] < gt[None, :, 3]))
    free = gt_inds == 0
    out = []
    for g in range(len(gt)):
        pos = gt_inds == g + 1
        if not pos.any():
            out.append(gt_inds.new_zeros(0))
            continue
        dis_f = dist[pos, g].max()
        cand = (free & inside[:, g] & (dist[:, g] <= dis_f)).nonzero().view(-1)
        if len(cand) == 0:
            out.append(cand)
            continue
        rank = overlaps[cand, g] - dist_weight * dist[cand, g] / dis_f.clamp(min=1e-6)
        chosen = cand[rank.topk(min(l, len(cand))).indices]
        free[chosen] = False  # a prior joins one ground truth only
        out.append(chosen)
    return out


class _SoftTargets:
    """What QFL / VFL / HCRAC, DR and HCRAR need beyond what the shipped heads pass."""

    _dr_parts = None

    def loss_by_feat(self, *args, **kwargs):
        """DR loss ranks all (anchor, class) entries of the batch at once, every FPN level
        together (the authors' implementation): the per-level calls collect their
        entries, and the loss is computed once, as the head's single `loss_cls`."""
        if not isinstance(self.loss_cls, DRLoss):
            return super().loss_by_feat(*args, **kwargs)
        self._dr_parts = []
        try:
            losses = super().loss_by_feat(*args, **kwargs)
            logits, labels, weights = (torch.cat(p) for p in zip(*self._dr_parts))
        finally:
            self._dr_parts = None
        losses["loss_cls"] = [self.loss_cls(logits, labels, weights)]
        return losses

    def _cls_loss(self, cls_score, labels, label_weights, ious, avg_factor):
        loss = self.loss_cls
        if self._dr_parts is not None:
            self._dr_parts.append((cls_score, labels, label_weights))
            return cls_score.sum() * 0
        if isinstance(loss, QualityFocalLoss):
            return loss(cls_score, (labels, ious), weight=label_weights, avg_factor=avg_factor)
        if isinstance(loss, VarifocalLoss):
            target = torch.zeros_like(cls_score)
            pos = (labels >= 0) & (labels < self.num_classes)
            target[pos, labels[pos]] = ious[pos].to(target.dtype)
            return loss(cls_score, target, weight=label_weights[:, None], avg_factor=avg_factor)
        if isinstance(loss, HCRACLoss):
            return loss(cls_score, labels, label_weights, avg_factor=avg_factor, ious=ious)
        return loss(cls_score, labels, label_weights, avg_factor=avg_factor)

    def _reg_loss(self, pred, target, weight, avg_factor, scores):
        if isinstance(self.loss_bbox, HCRARLoss):
            return self.loss_bbox(pred, target, weight, avg_factor=avg_factor, scores=scores)
        return self.loss_bbox(pred, target, weight, avg_factor=avg_factor)

    def _target_scores(self, cls_score, labels):
        """The sigmoid score of each anchor's target class (0 for the background)."""
        idx = labels.clamp(max=self.num_classes - 1).view(-1, 1)
        s = cls_score.detach().sigmoid().gather(1, idx).view(-1)
        return torch.where(labels < self.num_classes, s, torch.zeros_like(s))


@MODELS.register_module()
class HCRALRetinaHead(_SoftTargets, RetinaHead):
    """RetinaHead whose losses may be IoU-aware (QFL, VFL, HCRAC, HCRAR)."""

    def loss_by_feat_single(self, cls_score, bbox_pred, anchors, labels, label_weights,
                            bbox_targets, bbox_weights, avg_factor):
        labels, label_weights = labels.reshape(-1), label_weights.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        bbox_targets = bbox_targets.reshape(-1, bbox_targets.size(-1))
        bbox_weights = bbox_weights.reshape(-1, bbox_weights.size(-1))
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, self.bbox_coder.encode_size)
        anchors = anchors.reshape(-1, anchors.size(-1))
        # IoU of each positive's decoded box with its ground truth (0 elsewhere)
        ious = cls_score.new_zeros(len(labels))
        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero().view(-1)
        if len(pos):
            with torch.no_grad():
                box = get_box_tensor(self.bbox_coder.decode(anchors[pos], bbox_pred[pos].detach()))
                gt = bbox_targets[pos] if self.reg_decoded_bbox else \
                    get_box_tensor(self.bbox_coder.decode(anchors[pos], bbox_targets[pos]))
                ious[pos] = bbox_overlaps(box, gt, is_aligned=True).clamp(min=1e-6)
        loss_cls = self._cls_loss(cls_score, labels, label_weights, ious, avg_factor)
        if self.reg_decoded_bbox:
            bbox_pred = get_box_tensor(self.bbox_coder.decode(anchors, bbox_pred))
        loss_bbox = self._reg_loss(bbox_pred, bbox_targets, bbox_weights, avg_factor,
                                   self._target_scores(cls_score, labels))
        return loss_cls, loss_bbox


@MODELS.register_module()
class HCRALATSSHead(_SoftTargets, ATSSHead):
    """ATSSHead whose losses may be IoU-aware (QFL, VFL, HCRAC, HCRAR). Its centerness
    branch and loss are unchanged."""

    def loss_by_feat_single(self, anchors, cls_score, bbox_pred, centerness, labels,
                            label_weights, bbox_targets, avg_factor):
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels).contiguous()
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        centerness = centerness.permute(0, 2, 3, 1).reshape(-1)
        bbox_targets = bbox_targets.reshape(-1, 4)
        labels, label_weights = labels.reshape(-1), label_weights.reshape(-1)
        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero().squeeze(1)
        ious = cls_score.new_zeros(len(labels))
        if len(pos):
            decoded = self.bbox_coder.decode(anchors[pos], bbox_pred[pos])
            ious[pos] = bbox_overlaps(decoded.detach(), bbox_targets[pos],
                                      is_aligned=True).clamp(min=1e-6)
        loss_cls = self._cls_loss(cls_score, labels, label_weights, ious, avg_factor)
        if len(pos):
            centerness_targets = self.centerness_target(anchors[pos], bbox_targets[pos])
            scores = self._target_scores(cls_score[pos], labels[pos])
            loss_bbox = self._reg_loss(decoded, bbox_targets[pos], centerness_targets, 1.0, scores)
            loss_centerness = self.loss_centerness(centerness[pos], centerness_targets,
                                                   avg_factor=avg_factor)
        else:
            loss_bbox, loss_centerness = bbox_pred.sum() * 0, centerness.sum() * 0
            centerness_targets = bbox_targets.new_tensor(0.)
        return loss_cls, loss_bbox, loss_centerness, centerness_targets.sum()


@MODELS.register_module()
class HCRALVFNetHead(VFNetHead):
    """VFNetHead (FCOS+ATSS with the auxiliary modules: star-shaped deformable conv and
    box refinement) whose losses may be HCRAC / HCRAR.

    VFNetHead computes the refined boxes' IoUs inside its own `loss_by_feat`; rather
    than copy that method, forward pre-hooks feed the losses: the IoU weights the head
    passes to `loss_bbox_refine` (the refined boxes' IoUs with their targets, in
    positive order) become HCRAC's `ious`, and the target class's score becomes
    HCRAR's `scores` in `loss_bbox`. The refinement loss keeps the shipped GIoU x 2.0.
    MMDetection's VFNetHead has no centerness branch (the paper keeps one with an IoU
    target: not reproduced).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._labels = self._scores = self._rf_ious = None
        self.loss_bbox_refine.register_forward_pre_hook(self._grab_ious, with_kwargs=True)
        if isinstance(self.loss_cls, HCRACLoss):
            self.loss_cls.register_forward_pre_hook(self._give_ious, with_kwargs=True)
        if isinstance(self.loss_bbox, HCRARLoss):
            self.loss_bbox.register_forward_pre_hook(self._give_scores, with_kwargs=True)

    def get_targets(self, *args, **kwargs):
        targets = super().get_targets(*args, **kwargs)
        labels = targets[0]
        self._labels = torch.cat(labels) if isinstance(labels, (list, tuple)) else labels
        return targets

    def loss_by_feat(self, cls_scores, bbox_preds, bbox_preds_refine, *args, **kwargs):
        # A diverged model ends here as the outcome `nan`, before its backward: mmcv's CPU
        # deformable-conv backward (the star-shaped conv of this head) segfaults on
        # non-finite inputs, which would take the whole worker down with it.
        if not all(bool(torch.isfinite(t).all()) for t in (*cls_scores, *bbox_preds)):
            raise Diverged(NAN, "non-finite predictions of the VFNet head")
        self._scores = torch.cat([s.detach().permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                                  for s in cls_scores]).sigmoid()
        self._rf_ious = None
        try:
            return super().loss_by_feat(cls_scores, bbox_preds, bbox_preds_refine, *args, **kwargs)
        finally:
            self._labels = self._scores = self._rf_ious = None

    def _pos(self):
        return ((self._labels >= 0) & (self._labels < self.num_classes)).nonzero().view(-1)

    def _grab_ious(self, module, args, kwargs):
        self._rf_ious = kwargs.get("weight")

    def _give_ious(self, module, args, kwargs):
        if self._labels is not None:
            ious = self._scores.new_zeros(len(self._labels))
            if self._rf_ious is not None and len(self._rf_ious):
                ious[self._pos()] = self._rf_ious.detach().to(ious.dtype)
            kwargs = {**kwargs, "ious": ious}
        return args, kwargs

    def _give_scores(self, module, args, kwargs):
        if self._labels is not None:
            pos = self._pos()
            kwargs = {**kwargs, "scores": self._scores[pos, self._labels[pos]]}
        return args, kwargs
