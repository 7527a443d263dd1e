"""marshmallow schemas at the API's edge: inputs refuse unknown fields; outputs are declared by hand and are
what the OpenAPI document shows."""

from .access import (
    CallerSchema,
    KeyRequestCreateSchema,
    KeyRequestDecisionSchema,
    KeyRequestListSchema,
    KeyRequestSchema,
    LoginResultSchema,
    LoginSchema,
    NewTokenSchema,
    TokenCreateSchema,
    TokenListSchema,
    TokenSchema,
)
from .batches import (
    BatchBundleSchema,
    BatchPageSchema,
    BatchSchema,
    EnterpriseNameSchema,
    EventSchema,
    HistorySchema,
    HolderSchema,
    LinkSchema,
    NodeSchema,
    ProvenanceSchema,
    RecallSchema,
)
from .common import ItemErrorSchema, PageSchema
from .csv_import import (
    CsvColumnSchema,
    CsvImportQuerySchema,
    CsvImportReportSchema,
    CsvRowErrorSchema,
    CsvTemplateListSchema,
    CsvTemplateSchema,
)
from .documents import DocumentSchema
from .drafts import DraftCreateSchema, DraftListSchema, DraftSchema
from .epcis import CaptureJobSchema, CaptureSignaturesSchema
from .events import (
    AppendResultSchema,
    AuthorHeadSchema,
    BatchRefusedSchema,
    BatchResultSchema,
    BatchSubmitSchema,
    EnvelopeSchema,
)
from .ledger import EntryPageSchema, EntrySchema
from .registry import (
    AppendedSchema,
    EnterprisePageSchema,
    EnterpriseRegisterSchema,
    EnterpriseSchema,
    EnterpriseStatusChangeSchema,
    HoldingPageSchema,
    HoldingSchema,
    KeyAddSchema,
    KeyRevokeSchema,
    KeySchema,
    LocationSchema,
    ProductPageSchema,
    ProductSchema,
    ShipmentPageSchema,
    ShipmentSchema,
)
from .workspace import (
    DeviceDecisionSchema,
    DeviceListSchema,
    DeviceSchema,
    EnrolSchema,
    InviteCreateSchema,
    InviteDetailsSchema,
    InviteListSchema,
    InviteOpenSchema,
    InviteSchema,
    NewInviteSchema,
    WorkspaceEnterpriseSchema,
    WorkspaceMeSchema,
)

__all__ = [
    "AppendResultSchema", "AppendedSchema", "AuthorHeadSchema", "BatchBundleSchema", "BatchPageSchema",
    "BatchRefusedSchema", "BatchResultSchema", "BatchSchema", "BatchSubmitSchema", "CallerSchema",
    "CaptureJobSchema", "CaptureSignaturesSchema",
    "CsvColumnSchema", "CsvImportQuerySchema", "CsvImportReportSchema", "CsvRowErrorSchema", "CsvTemplateListSchema",
    "CsvTemplateSchema",
    "DocumentSchema", "DraftCreateSchema", "DraftListSchema", "DraftSchema",
    "EnterpriseNameSchema",
    "EnterprisePageSchema", "EnterpriseRegisterSchema", "EnterpriseSchema", "EnterpriseStatusChangeSchema",
    "EntryPageSchema", "EntrySchema", "EnvelopeSchema", "EventSchema", "HistorySchema", "HoldingPageSchema",
    "HoldingSchema", "HolderSchema",
    "ItemErrorSchema", "KeyAddSchema", "KeyRequestCreateSchema", "KeyRequestDecisionSchema",
    "KeyRequestListSchema", "KeyRequestSchema", "KeyRevokeSchema", "KeySchema", "LinkSchema", "LocationSchema",
    "LoginResultSchema", "LoginSchema", "NewTokenSchema", "NodeSchema", "PageSchema", "ProductPageSchema",
    "ProductSchema", "ProvenanceSchema", "RecallSchema", "ShipmentPageSchema", "ShipmentSchema", "TokenCreateSchema",
    "TokenListSchema", "TokenSchema",
    "DeviceDecisionSchema", "DeviceListSchema", "DeviceSchema", "EnrolSchema", "InviteCreateSchema",
    "InviteDetailsSchema", "InviteListSchema", "InviteOpenSchema", "InviteSchema", "NewInviteSchema",
    "WorkspaceEnterpriseSchema", "WorkspaceMeSchema",
]
