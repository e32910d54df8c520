API=http://127.0.0.1:3000/your_moms/api-v2
# What SugarCRM's web logic hook sends after a save (the server registered it with this URL, under
# its PUBLIC_URL); no Authorization header: the secret in the URL is the credential
curl -s -X POST "$API/vendor-hooks/vh_q3nT0bXyZ8sA1cD4eF7gH0iJ3kL6mN9oP2rS5uV8wX1/Contacts" \
  -H 'Content-Type: application/json' \
  -d '{"isUpdate": true, "bean": "Contact",
       "data": {"id": "2f6a0c1e", "date_entered": "2026-12-06T05:00:01-04:00", "date_modified": "2026-12-06T05:10:44-04:00"}}'
