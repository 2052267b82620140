# The store's database, and the indexes and field overrides it needs beyond Firestore's automatic
# single-field indexes. The two maps below mirror FIRESTORE_INDEXES in
# shared/adapters/firestore/firestore-indexes.ts (unprefixed collections); terraform.test.ts
# fails when they differ, so change both together.

resource "google_firestore_database" "this" {
  project     = var.project_id
  name        = var.firestore_database_id
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  # The store is the record of every purchase: keep it through mistakes and `terraform destroy`.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.apis]
}

locals {
  firestore_composite_indexes = {
    # listEntitlements({ by: 'account' })
    "entitlements-cloud-accountId-sortKey" = {
      collection  = "entitlements"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "cloud", order = "ASCENDING" },
        { field_path = "accountId", order = "ASCENDING" },
        { field_path = "sortKey", order = "ASCENDING" },
      ]
    }
    # listEntitlements({ by: 'tenant' })
    "entitlements-tenantId-sortKey" = {
      collection  = "entitlements"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "tenantId", order = "ASCENDING" },
        { field_path = "sortKey", order = "ASCENDING" },
      ]
    }
    # listEntitlements({ by: 'status' })
    "entitlements-status-sortKey" = {
      collection  = "entitlements"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "sortKey", order = "ASCENDING" },
      ]
    }
    # listAccounts({ by: 'tenant' })
    "accounts-tenantId-sortKey" = {
      collection  = "accounts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "tenantId", order = "ASCENDING" },
        { field_path = "sortKey", order = "ASCENDING" },
      ]
    }
    # listUsageHours
    "usageHours-cloud-entitlementId-hourKey" = {
      collection  = "usageHours"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "cloud", order = "ASCENDING" },
        { field_path = "entitlementId", order = "ASCENDING" },
        { field_path = "hourKey", order = "ASCENDING" },
      ]
    }
    # listOutbox({ by: 'ordering' })
    "outbox-pendingOrderingKey-timeKey" = {
      collection  = "outbox"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "pendingOrderingKey", order = "ASCENDING" },
        { field_path = "timeKey", order = "ASCENDING" },
      ]
    }
  }

  firestore_field_overrides = {
    # Event records expire; an index on a TTL timestamp only adds write hotspots.
    "events.expiresAt" = { collection = "events", field = "expiresAt", ttl = true, indexed = false }
    # Usage ids are forgotten after the dedupe window.
    "usageIds.expiresAt" = { collection = "usageIds", field = "expiresAt", ttl = true, indexed = false }
    # Delivery attempts expire with the delivery log (a collection group: every message's log).
    "deliveries.expiresAt" = { collection = "deliveries", field = "expiresAt", ttl = true, indexed = false }
    # Opaque JSON blobs, never queried: indexing them only costs writes.
    "accounts.snapshot.dataJson"     = { collection = "accounts", field = "snapshot.dataJson", ttl = false, indexed = false }
    "entitlements.snapshot.dataJson" = { collection = "entitlements", field = "snapshot.dataJson", ttl = false, indexed = false }
    "events.payloadJson"             = { collection = "events", field = "payloadJson", ttl = false, indexed = false }
    "outbox.dataJson"                = { collection = "outbox", field = "dataJson", ttl = false, indexed = false }
  }
}

resource "google_firestore_index" "composite" {
  for_each = local.firestore_composite_indexes

  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields

    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

resource "google_firestore_field" "override" {
  for_each = local.firestore_field_overrides

  project    = var.project_id
  database   = google_firestore_database.this.name
  collection = each.value.collection
  field      = each.value.field

  # An empty index_config exempts the field from the automatic single-field indexes.
  dynamic "index_config" {
    for_each = each.value.indexed ? [] : [true]

    content {}
  }

  # An empty ttl_config turns on a TTL policy: Firestore deletes the document once the field's
  # timestamp has passed.
  dynamic "ttl_config" {
    for_each = each.value.ttl ? [true] : []

    content {}
  }
}
