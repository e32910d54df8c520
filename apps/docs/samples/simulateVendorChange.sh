API=http://127.0.0.1:3000/your_moms/api-v2
curl -s -X POST "$API/instances/123/events/simulated-change" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -d '{"type": "vendor.record.updated", "resource": "Contacts", "recordId": "f16760a4",
       "record": {"id": "f16760a4", "name": "Ada Lovelace"}}'
