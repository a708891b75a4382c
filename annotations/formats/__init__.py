"""Dataset formats: COCO and Pascal VOC writers and readers, and the streaming helpers they share.

Writers read rows through iterators and write one zip member at a time, so an export's memory
does not grow with the number of images; readers parse an archive into plain records that
`annotations.dataset_imports` validates and writes in one transaction.
"""
