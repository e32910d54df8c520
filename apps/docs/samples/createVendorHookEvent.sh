# What SugarCRM's web logic hook sends (the server registered it with this URL; no Authorization)
curl -s -X POST "https://instances.example.com/your_moms/api-v2/vendor-hooks/$RECEIVING_SECRET/Contacts" \
  -H 'Content-Type: application/json' \
  -d '{"isUpdate": true, "bean": "Contact",
       "data": {"id": "2f6a0c1e", "date_entered": "2026-12-06T05:00:01-04:00", "date_modified": "2026-12-06T05:10:44-04:00"}}'
