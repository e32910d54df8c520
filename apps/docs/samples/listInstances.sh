curl 'http://localhost:3000/your_moms/api-v2/instances?tags=helpdesk&your_mom=freshservice&pageSize=50' \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>'
